"""Run a service as a local background process, from a notebook or a test.

start() picks a free port on 127.0.0.1, launches the command with its output in a log file, and returns
once the service's health URL answers. Each process is recorded in a pidfile under .labkit/processes/, so
starting the same name again (a notebook run twice, a kernel restarted) first stops what the earlier run
left behind. Expected failures raise LocalProcessError with the service's last log lines, never a
traceback from inside labkit.
"""

import http.client
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from labkit import config, proc
from labkit.errors import LabkitError

HEALTH_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 15

# Processes this interpreter started, so stopping one also collects its exit status (no zombies).
_children: dict[int, subprocess.Popen] = {}


class LocalProcessError(LabkitError):
    """A local service could not be started or stopped; the message says why and what it printed."""


@dataclass(frozen=True)
class LocalProcess:
    name: str
    pid: int
    port: int
    log_path: Path
    # When the process started (clock ticks since boot): tells it apart from a later one reusing the pid.
    start_ticks: str | None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def running(self) -> bool:
        return proc.is_running(self.pid, self.start_ticks)

    def stop(self) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and forget its pidfile."""
        if self.running() and not proc.stop_group(self.pid, _children.pop(self.pid, None)):
            raise LocalProcessError(f"{self.name} (pid {self.pid}) did not exit even after SIGKILL.")
        elif self.pid in _children:  # it exited by itself: collect its exit status
            _children.pop(self.pid).poll()
        if _read_record(self.name).get("pid") == self.pid:
            _record_path(self.name).unlink(missing_ok=True)

    def rss_mb(self) -> float:
        """Resident memory of the process in MiB, from /proc."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            status = ""
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        if found is None:
            raise LocalProcessError(
                f"cannot read the memory of {self.name}: it is not running, or this system has no /proc."
            )
        return int(found.group(1)) / 1024

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return proc.tail(self.log_path, lines)


def start(
    name: str,
    command: list[str],
    *,
    cwd: str | Path | None = None,
    env: dict | None = None,
    port: int | None = None,
    health_path: str = "/health",
    timeout: float = HEALTH_TIMEOUT_S,
) -> LocalProcess:
    """Start `command` as the service `name` and wait until GET health_path answers 2xx.

    "{port}" in the command is replaced by the port, which the process also finds in $PORT. The command
    runs in the course folder unless cwd says otherwise, so `python -m services.<name>` works.
    A process recorded under the same name is stopped first.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
        raise LocalProcessError(f"{name!r} cannot name a process: use lower-case letters, digits, '.', '_', '-'.")
    stop(name)
    port = port or proc.free_port()
    if not proc.port_free(port):
        raise LocalProcessError(
            f"cannot start {name}: port {port} on 127.0.0.1 is in use by another program. "
            f"Stop that program, or leave port unset to get a free one."
        )
    argv = [str(arg).replace("{port}", str(port)) for arg in command]
    log_path = _processes_dir() / f"{name}.log"
    process_env = {**os.environ, "PYTHONUNBUFFERED": "1", "PORT": str(port), **(env or {})}
    with open(log_path, "w") as log:
        try:
            # A session of its own: stopping the service stops whatever it spawned, and it survives
            # an interrupt of the notebook cell that started it.
            popen = subprocess.Popen(
                argv,
                cwd=cwd or config.COURSE_ROOT,
                env=process_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            raise LocalProcessError(f"cannot start {name}: {argv[0]}: {error.strerror}") from None
    _children[popen.pid] = popen
    started = LocalProcess(name, popen.pid, port, log_path, proc.start_ticks(popen.pid))
    _record_path(name).write_text(
        json.dumps(
            {"name": name, "pid": started.pid, "port": port, "start_ticks": started.start_ticks, "command": argv}
        )
    )
    _wait_until_healthy(started, popen, started.url + health_path, timeout)
    return started


def stop(name: str) -> bool:
    """Stop the process recorded under `name`, if it still runs. True if there was one to stop."""
    found = find(name)
    _record_path(name).unlink(missing_ok=True)
    if found is None:
        return False
    found.stop()
    return True


def find(name: str) -> LocalProcess | None:
    """The running process recorded under `name`, or None."""
    record = _read_record(name)
    if not isinstance(record.get("pid"), int):
        return None
    found = LocalProcess(
        name, record["pid"], record.get("port", 0), _processes_dir() / f"{name}.log", record.get("start_ticks")
    )
    return found if found.running() else None


def data_dir(name: str) -> Path:
    """A folder under .labkit/ for a service's files (its database, say), kept across restarts."""
    path = _processes_dir() / f"{name}-data"
    path.mkdir(exist_ok=True)
    return path


def _wait_until_healthy(started: LocalProcess, popen: subprocess.Popen, health_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = popen.poll()
        if code is not None:
            _children.pop(popen.pid, None)
            _record_path(started.name).unlink(missing_ok=True)
            raise LocalProcessError(
                f"{started.name} exited with code {code} before {health_url} answered. "
                f"Last lines of {started.log_path}:\n{started.log_tail()}"
            )
        if _answers(health_url):
            return
        time.sleep(0.05)
    started.stop()
    raise LocalProcessError(
        f"{started.name} did not answer {health_url} within {timeout:.0f} s, so it was "
        f"stopped. Last lines of {started.log_path}:\n{started.log_tail()}"
    )


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return 200 <= response.status < 300
    except (OSError, urllib.error.URLError, http.client.HTTPException):
        return False


def _processes_dir() -> Path:
    path = config.state_dir() / "processes"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record_path(name: str) -> Path:
    return _processes_dir() / f"{name}.json"


def _read_record(name: str) -> dict:
    try:
        record = json.loads(_record_path(name).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}
