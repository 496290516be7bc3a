"""Find what the course tagged on a target, delete it in dependency order, then say what is left.

"Left" is never taken on trust: after deleting, every kind is listed again, so a resource whose
deletion failed, one AWS still holds, and a kind that could not be listed all show up there.
"""

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from labkit import course
from labkit.awsapi import Clients
from labkit.inventory import Resource, Selection
from labkit.inventory.errors import error_code, is_gone
from labkit.inventory.selection import lab_tag
from labkit.teardown import order
from labkit.teardown.base import AWS_PACING, LOCAL_PACING, THROTTLING_CODES, Deletion, Pacing, describe_error

EXIT_LEFT = 1
EXIT_REFUSED = 2
SURVEY_THREADS = 8


@dataclass(frozen=True)
class Entry:
    kind: str
    name: str
    note: str = ""


@dataclass
class Report:
    """What a teardown did: `.deleted` (scheduled deletions included), `.failed` (with the error),
    `.left` (tagged resources still there after it, and kinds that could not be listed)."""

    target: str
    lab: str | None
    deleted: list[Entry] = field(default_factory=list)
    failed: list[Entry] = field(default_factory=list)
    left: list[Entry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.left


@dataclass
class _Survey:
    found: list[tuple[Deletion, Resource]]
    unlisted: list[Entry]


def teardown(
    lab: str | None = None, target: str | None = None, confirm: str | None = None, all_owners: bool = False
) -> Report:
    """Delete every resource the course tagged for this learner (only lab `lab`'s, when given) on
    the target, without asking: for a notebook's cleanup cell. Prints a line per resource and what
    is left. The target is the one this kernel's course.start() chose, unless `target` says."""
    env, selection, clients = _start(target, confirm, lab, all_owners)
    return _delete_and_recheck(env, selection, clients, _survey(clients, selection))


def tagged(lab: str | None = None) -> list[Entry]:
    """What this learner still has tagged for the course (or one lab) on the current target."""
    selection = Selection(lab_tag(lab), course.owner())
    survey = _survey(Clients(), selection)
    return [Entry(deletion.kind.label, resource.full_name) for deletion, resource in survey.found] + survey.unlisted


def run_cli(target: str = "local", lab: str | None = None, assume_yes: bool = False, all_owners: bool = False) -> int:
    """`labkit teardown`: like teardown(), but lists what it would delete and asks first (unless
    --yes). Exit code 0 when nothing tagged is left, 1 when something is, 2 when it could not
    ask."""
    if target == "local" and course.current() is None:
        from labkit.localcloud import control

        if not control.status()["running"]:
            print("The local cloud is not running, so nothing is on it: nothing to tear down.")
            return 0
    env, selection, clients = _start(target, None, lab, all_owners)
    plan = _survey(clients, selection)
    if plan.found and not assume_yes:
        print(f"Would delete {len(plan.found)} resources:")
        for deletion, resource in plan.found:
            print(_line("", deletion.kind.label, resource.full_name))
        if not sys.stdin.isatty():
            print(
                "labkit teardown: nothing deleted. Standard input is not a terminal, so there is "
                "no one to confirm; run `labkit teardown --yes` to delete without asking.",
                file=sys.stderr,
            )
            return EXIT_REFUSED
        if not _confirmed(f"Delete these {len(plan.found)} resources? [y/N] "):
            print("Nothing deleted.")
            return EXIT_LEFT
    report = _delete_and_recheck(env, selection, clients, plan)
    return 0 if report.ok else EXIT_LEFT


def _start(target: str | None, confirm: str | None, lab: str | None, all_owners: bool):
    """Point boto3 at the target (the aws guard rails apply) and say what this teardown is about."""
    env = course.current()
    if env is None or (target is not None and target != env.target):
        env = course.start(target=target, confirm=confirm, quiet=True)
    selection = Selection(lab_tag(lab), None if all_owners else env.owner)
    print(f"Teardown of resources tagged {selection} on {env}")
    return env, selection, Clients()


def _delete_and_recheck(env, selection: Selection, clients: Clients, plan: _Survey) -> Report:
    lab = selection.lab
    report = Report(target=env.target, lab=lab)
    # By the clock of where the calls go: the aws target's code path may run against the local cloud.
    pacing = AWS_PACING if env.minute_s >= 60 else LOCAL_PACING
    if not plan.found:
        print(f"Nothing tagged {selection} to delete.")
    for deletion, resource in plan.found:
        label = deletion.kind.label
        try:
            note = _delete(deletion, clients(deletion.kind.service), resource, pacing)
        except Exception as error:  # reported on its line; the other resources still go
            report.failed.append(Entry(label, resource.full_name, describe_error(error)))
            print(_line("FAILED", label, f"{resource.full_name}: {describe_error(error)}"))
        else:
            report.deleted.append(Entry(label, resource.full_name, note))
            print(_line("deleted", label, resource.full_name + (f", {note}" if note else "")))
    after = _survey(clients, selection)
    report.left = [Entry(deletion.kind.label, resource.full_name) for deletion, resource in after.found]
    report.left += after.unlisted
    if report.left:
        print(f"Left: {len(report.left)} (tagged {selection}, still there or not checked):")
        for entry in report.left:
            print(_line("", entry.kind, entry.name or entry.note))
    else:
        print(f"Left: nothing tagged {selection} remains.")
    return report


def _survey(clients: Clients, selection: Selection) -> _Survey:
    """Every resource the selection wants, kind by kind in deletion order (by name within a kind:
    a report that changed order between runs of the same lab would confuse, and fail nbval)."""

    def find(deletion: Deletion) -> list[Resource] | Entry:
        try:
            return deletion.kind.resources(clients, selection.wants)
        except Exception as error:  # an unimplemented or unreachable API: reported, not fatal
            return Entry(deletion.kind.label, "", f"could not be listed: {describe_error(error)}")

    # A survey is a hundred or more small calls, one after the other within a kind; kinds are
    # independent, and on AWS each call takes tens of milliseconds, so kinds are listed in parallel.
    deletions = order.DELETIONS
    with ThreadPoolExecutor(max_workers=SURVEY_THREADS) as pool:
        results = list(pool.map(find, deletions))
    found, unlisted = [], []
    for deletion, result in zip(deletions, results, strict=True):
        if isinstance(result, Entry):
            unlisted.append(result)
        else:
            found += [(deletion, resource) for resource in result]
    return _Survey(found, unlisted)


def _delete(deletion: Deletion, client, resource: Resource, pacing: Pacing) -> str:
    """Delete one resource, retrying as `pacing` says while AWS says a dependency is still going away
    or calls are throttled. Returns a note for the report ("" for a plain deletion)."""
    deadline = time.monotonic() + pacing.patience_s
    pause = pacing.first_pause_s
    while True:
        try:
            how = deletion.delete(client, resource)
            return how if isinstance(how, str) else ""
        except ClientError as error:
            if is_gone(error):
                return "already gone"
            retryable = error_code(error) in deletion.busy_codes + THROTTLING_CODES
            if not retryable or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, pacing.longest_pause_s)


def _confirmed(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _line(status: str, kind: str, text: str) -> str:
    return f"  {status:<8}{kind:<30}{text}"
