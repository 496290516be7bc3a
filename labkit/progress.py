"""Which checks the learner has passed, per lab: a JSON file in the state folder, per learner."""

import json
import time
from pathlib import Path

from labkit import config


def path() -> Path:
    return config.state_dir() / "progress.json"


def load() -> dict:
    """{owner: {lab_id: {check_id: {"passed": bool, "at": epoch seconds of the last run,
    "passed_at": of the first pass}}}}"""
    try:
        return json.loads(path().read_text())
    except (OSError, ValueError):
        return {}


def record(lab_id: str, results) -> None:
    from labkit.course import owner

    everything = load()
    lab = everything.setdefault(owner(), {}).setdefault(lab_id, {})
    for result in results:
        previous = lab.get(result.id, {})
        # Once passed stays passed: progress is what the learner achieved, not the current state
        # of a target that cleanup has since emptied.
        now = time.time()
        entry = {"passed": result.passed or previous.get("passed", False), "at": now}
        # When it first passed: the instructor's dashboard tells who is stuck by the time since then.
        if previous.get("passed_at") or result.passed:
            entry["passed_at"] = previous.get("passed_at") or now
        lab[result.id] = entry
    _write(path(), everything)


def fast_forwarded_path() -> Path:
    return config.state_dir() / "fast_forwarded.json"


def load_fast_forwarded() -> dict:
    """{owner: {lab_id: epoch seconds}}: the labs `labkit fast-forward` skipped for the learner, which are
    not passed (nothing of them was the learner's work) but should not look abandoned either."""
    try:
        return json.loads(fast_forwarded_path().read_text())
    except (OSError, ValueError):
        return {}


def record_fast_forward(lab_id: str) -> None:
    from labkit.course import owner

    everything = load_fast_forwarded()
    everything.setdefault(owner(), {})[lab_id] = time.time()
    _write(fast_forwarded_path(), everything)


def _write(target: Path, everything: dict) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(everything, indent=1, sort_keys=True))
    tmp.replace(target)


def summary() -> list[dict]:
    """One row per lab of the course: id, title, passed checks, total checks."""
    from labkit import labs
    from labkit.course import owner

    mine = load().get(owner(), {})
    skipped = load_fast_forwarded().get(owner(), {})
    rows = []
    for lab_id, title in labs.COURSE:
        lab = labs.load(lab_id)
        total = len(lab.checks) if lab else 0
        passed = sum(1 for check in (lab.checks if lab else []) if mine.get(lab_id, {}).get(check.id, {}).get("passed"))
        rows.append(
            {
                "lab": lab_id,
                "title": title,
                "passed": passed,
                "total": total,
                "available": lab is not None or labs.has_notebook(lab_id),
                "fast_forwarded": lab_id in skipped,
            }
        )
    return rows


def as_text(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        if not row["available"]:
            state = "coming soon"
        elif row["total"] == 0:
            state = "lesson (no checks)"
        else:
            bar = "#" * round(10 * row["passed"] / row["total"])
            state = f"[{bar:<10}] {row['passed']}/{row['total']} checks"
            state += " (fast-forwarded)" if row.get("fast_forwarded") else ""
        lines.append(f"{row['lab']}  {row['title']:<44} {state}")
    return "\n".join(lines)


def course_map():
    """The course map for a notebook: each lab with a progress bar of its passed checks."""
    import html

    import ipywidgets as widgets

    rows = summary()
    lines = []
    for row in rows:
        if not row["available"]:
            state = "<span style='color:#6e7781'>coming soon</span>"
        elif row["total"] == 0:
            state = "lesson"
        else:
            percent = round(100 * row["passed"] / row["total"])
            state = (
                f"<progress value='{row['passed']}' max='{row['total']}'></progress> "
                f"{row['passed']}/{row['total']} checks ({percent}%)"
            )
        lines.append(f"<tr><td>{row['lab']}</td><td>{html.escape(row['title'])}</td><td>{state}</td></tr>")

    class CourseMap(widgets.HTML):
        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            bundle["text/plain"] = as_text(rows)
            return bundle

    return CourseMap(
        "<table class='labkit-course-map'><tr><th>#</th><th>lab</th><th>your progress</th></tr>"
        + "".join(lines)
        + "</table>"
    )
