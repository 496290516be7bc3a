"""Process and port facts shared by the local cloud and local services: is a pid still ours and alive,
stop a process group, is a port free. Linux reads /proc; elsewhere the pid alone is checked."""

import errno
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

STOP_TIMEOUT_S = 5.0


def is_running(pid: int, start_ticks: str | None = None) -> bool:
    """Alive, not a zombie, and (given its start time) not a later process that reused the pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: not one of ours
        return False
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, ticks = stat[0], stat[19]
    return state != "Z" and (start_ticks is None or ticks == start_ticks)


def start_ticks(pid: int) -> str | None:
    stat = _proc_stat(pid)
    return stat[19] if stat else None


def stop_group(pid: int, popen: subprocess.Popen | None = None) -> bool:
    """SIGTERM the process group led by pid, then SIGKILL. True once it has exited."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:  # no longer a group leader: signal the process alone
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return True
        if _wait_for_exit(pid, popen):
            return True
    return False


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As servers do: a port whose last connections are in TIME_WAIT is free to listen on.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tail(path: Path, lines: int) -> str:
    """The last lines of a log file, read from its end (logs can grow large)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(the log is empty)"


def _wait_for_exit(pid: int, popen: subprocess.Popen | None) -> bool:
    if popen is not None:
        try:
            popen.wait(STOP_TIMEOUT_S)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not is_running(pid):
            return True
        time.sleep(0.02)
    return False


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: [0] state, [19] start time in clock ticks."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
