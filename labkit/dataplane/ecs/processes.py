"""A container's processes, read from /proc: its main process and everything it started
(`sh -c "python app.py"` runs python as a child), so that stopping or measuring a container
covers all of it, as a container's cgroup does on AWS."""

import os
import signal
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def tree(pid: int) -> list[int]:
    """pid and its descendants still alive."""
    children: dict[int, list[int]] = {}
    for stat in _all_stats():
        children.setdefault(stat[1], []).append(stat[0])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        found.append(current)
        frontier += children.get(current, [])
    return found


def signal_tree(pid: int, sig: signal.Signals) -> None:
    for member in tree(pid):
        try:
            os.kill(member, sig)
        except ProcessLookupError:
            pass


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time used so far by these processes."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def resident_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            total += int(fields[21]) * PAGE_BYTES  # rss in pages
    return total


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name: [0] state, [1] ppid, [11] utime, [12] stime."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _all_stats():
    """(pid, ppid) of every process, skipping zombies."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and fields[0] != "Z":
                yield int(entry.name), int(fields[1])
