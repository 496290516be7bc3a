"""`labkit fast-forward NN`: bring a learner who joins late (or lost their local cloud) to the start of lab NN.

It deploys what lab NN needs from the labs before it, from those labs' solutions (their code cells up to
the cleanup cell, run in a kernel as the learner would run them: one source, never a copy of their code),
and records the labs it skipped as fast-forwarded, so that neither the learner's course map nor the
instructor's dashboard counts them as passed. Solutions are idempotent (they pass twice in a row against the
same local cloud: AUTHORING.md), so fast-forwarding twice is fine.
"""

from labkit import labs, progress, solutionrun
from labkit.errors import LabkitError
from labkit.solutionrun import solution

# What each lab needs still deployed from the labs before it, as its solution's "## Prerequisites" says.
# Every lab so far starts from its own resources (AUTHORING.md: "each lab starts from its own"), so none
# needs any; a lab that builds on an earlier lab's resources names that lab here. A lab missing from this
# table cannot be fast-forwarded to (tests/test_fast_forward.py fails until its author decides).
NEEDS_DEPLOYED: dict[str, tuple[str, ...]] = {
    "01": (),
    "02": (),
    "03": (),
    "04": (),
    "05": (),
    "06": (),
    "07": (),
    "08": (),
    "09": (),
    "10": (),
}


def earlier_labs(lab_id: str) -> list[str]:
    """The labs before lab_id that have a solution (lessons have none: they deploy nothing)."""
    ids = [known for known, _ in labs.COURSE]
    return [earlier for earlier in ids[: ids.index(lab_id)] if solution(earlier)]


def needs(lab_id: str) -> tuple[str, ...]:
    """The earlier labs whose resources lab_id needs; a clear error for a lab that cannot be started yet."""
    known = [known for known, _ in labs.COURSE]
    lab_id = lab_id.zfill(2)
    if lab_id not in known:
        raise LabkitError(f"there is no lab {lab_id}; the labs are {known[0]} to {known[-1]}.")
    if not solution(lab_id):
        raise LabkitError(
            f"{lab_id} has no solution (solutions/{lab_id}_*.ipynb): it is a lesson, or a lab not written yet; "
            "nothing to fast-forward to."
        )
    if lab_id not in NEEDS_DEPLOYED:
        raise LabkitError(
            f"lab {lab_id} does not say what it needs from earlier labs: "
            f"add it to NEEDS_DEPLOYED in labkit/fastforward.py (from its Prerequisites section)."
        )
    return NEEDS_DEPLOYED[lab_id]


def fast_forward(lab_id: str, say=print) -> None:
    """Deploy what lab_id needs on the local cloud, say one line per earlier lab, and record the skipped ones."""
    from labkit import course

    lab_id = lab_id.zfill(2)
    needed = needs(lab_id)
    env = course.start(target="local", quiet=True)  # the solutions' parameters cell says local too
    earlier = earlier_labs(lab_id)
    if not earlier:
        say(f"lab {lab_id} is the first lab: nothing comes before it.")
    elif not needed:
        say(
            f"lab {lab_id} starts from its own resources (see its Prerequisites): "
            f"nothing of labs {_span(earlier)} needs to be deployed."
        )
    for earlier_id in earlier:
        if earlier_id in needed:
            line = solutionrun.run_solution(earlier_id, target="local")
        else:
            line = f"lab {earlier_id}: nothing to deploy; recorded as fast-forwarded"
        progress.record_fast_forward(earlier_id)
        say(line)
    say(f"ready for lab {lab_id} on {env}.")


def _span(lab_ids: list[str]) -> str:
    return lab_ids[0] if len(lab_ids) == 1 else f"{lab_ids[0]} to {lab_ids[-1]}"
