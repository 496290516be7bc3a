"""What the dashboard shows, as data: per learner, per lab and per check; the checks most learners fail;
who has been stuck longest (time since their last first pass of a check)."""

import time
from collections import Counter

from labkit import labs
from labkit.dashboard.learners import Learner, Sources, read

MOST_FAILED_SHOWN = 5


def course_checks() -> list[dict]:
    """The labs that have checks, each with its checks' ids and titles, in the course's order."""
    found = []
    for lab_id, title in labs.COURSE:
        lab = labs.load(lab_id)
        if lab and lab.checks:
            checks = [{"id": check.id, "title": check.title, "step": check.step} for check in lab.checks]
            found.append({"lab": lab_id, "title": title, "checks": checks})
    return found


def board(sources: Sources, now: float | None = None) -> dict:
    now = time.time() if now is None else now
    course = course_checks()
    learners, not_started = [], []
    for folder in sources.state_folders():
        found = read(folder)
        learners += found
        if not found:
            not_started.append(str(folder))
    return {
        "course": course,
        "learners": [_row(learner, course, now) for learner in learners],
        "not_started": not_started,
        "most_failed": _most_failed(learners, course),
        "stuck": _stuck(learners, now),
    }


def _status(entry: dict | None) -> str:
    if entry is None:
        return "not tried"
    return "passed" if entry.get("passed") else "failing"


def _row(learner: Learner, course: list[dict], now: float) -> dict:
    labs_shown = []
    for lab in course:
        mine = learner.checks.get(lab["lab"], {})
        statuses = [_status(mine.get(check["id"])) for check in lab["checks"]]
        labs_shown.append(
            {
                "lab": lab["lab"],
                "passed": statuses.count("passed"),
                "total": len(statuses),
                "checks": statuses,
                "fast_forwarded": lab["lab"] in learner.fast_forwarded,
            }
        )
    return {"name": learner.name, "folder": str(learner.folder), "labs": labs_shown}


def _most_failed(learners: list[Learner], course: list[dict]) -> list[dict]:
    """The checks tried and not passed by the most learners: where the room needs a word from the instructor."""
    titles = {(lab["lab"], check["id"]): check["title"] for lab in course for check in lab["checks"]}
    failing = Counter(
        (lab_id, check_id)
        for learner in learners
        for lab_id, checks in learner.checks.items()
        for check_id, entry in checks.items()
        if not entry.get("passed") and (lab_id, check_id) in titles
    )
    return [
        {"lab": lab_id, "check": check_id, "title": titles[(lab_id, check_id)], "learners": count}
        for (lab_id, check_id), count in failing.most_common(MOST_FAILED_SHOWN)
    ]


def _stuck(learners: list[Learner], now: float) -> list[dict]:
    """Learners by the time since their last passed check, longest first (since their first try when none
    has passed yet)."""
    rows = []
    for learner in learners:
        entries = [entry for checks in learner.checks.values() for entry in checks.values()]
        passes = [entry.get("passed_at") or entry.get("at", 0) for entry in entries if entry.get("passed")]
        since = max(passes) if passes else min((entry.get("at", now) for entry in entries), default=now)
        rows.append({"name": learner.name, "seconds": now - since, "has_passed": bool(passes)})
    return sorted(rows, key=lambda row: -row["seconds"])
