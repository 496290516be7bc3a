"""Start, attach to, inspect and stop the local cloud process, from the CLI or a notebook kernel.

Kept free of boto3 and moto imports so `labkit up` and `labkit status` start quickly.
"""

import fcntl
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from labkit import config, proc
from labkit.errors import LabkitError
from labkit.localcloud.server import EXIT_PORT_TAKEN

READY_TIMEOUT_S = 20.0
LOG_ROTATE_BYTES = 5 * 1024 * 1024
# A running cloud busy with other requests (or a loaded machine) can be slow to answer its health check;
# a single short try would call it stopped.
ANSWER_WAIT_S = 3.0


def pidfile_path() -> Path:
    return config.state_dir() / "cloud.pid"


def logfile_path() -> Path:
    return config.state_dir() / "cloud.log"


def status() -> dict:
    """What is known about the local cloud: running or not, and why not."""
    info = _read_pidfile()
    wanted_port = config.port()
    if info is None:
        found = _health(wanted_port)
        if found:
            return {**found, "running": True, "problem": "running without a pidfile"}
        return {
            "running": False,
            "target": "local",
            "endpoint": config.endpoint(wanted_port),
            "port": wanted_port,
            "region": config.local_region(),
            "pid": None,
            "problem": "not started",
        }
    if not proc.is_running(info["pid"]):
        return {**info, "running": False, "problem": f"the process (pid {info['pid']}) has exited; its state is gone"}
    found = _wait_for_health(info["port"], info["pid"], timeout=ANSWER_WAIT_S)
    if found is None:
        return {
            **info,
            "running": False,
            "problem": f"the process (pid {info['pid']}) is alive but does not answer on port {info['port']}",
        }
    return {**found, "running": True, "problem": None}


def up() -> tuple[dict, str]:
    """Start the local cloud, or attach to the one already running. Returns (info, what happened)."""
    with _lock():
        notes = []
        info = _read_pidfile()
        if info is not None:
            if proc.is_running(info["pid"]):
                found = _wait_for_health(info["port"], info["pid"], timeout=ANSWER_WAIT_S)
                if found is None:
                    raise LabkitError(
                        f"the local cloud (pid {info['pid']}) is running but does not answer on "
                        f"port {info['port']}. Run `labkit down` and then `labkit up`; "
                        f"`labkit logs` shows what it printed."
                    )
                note = "attached to the running local cloud"
                if found["port"] != config.port():
                    note += f" on port {found['port']} (LABKIT_PORT={config.port()} applies after `labkit down`)"
                return found, note
            notes.append(
                f"the previous local cloud (pid {info['pid']}) had exited, so its resources are gone; started a new one"
            )
            pidfile_path().unlink(missing_ok=True)

        port = config.port()
        found = _health(port)
        if found is not None:
            if found.get("course_root", str(config.COURSE_ROOT)) == str(config.COURSE_ROOT):
                _write_pidfile(found)
                return found, "attached to the running local cloud"
            raise LabkitError(_port_taken_message(port, "another course folder's local cloud"))
        if not proc.port_free(port):
            raise LabkitError(_port_taken_message(port, _describe_port_owner(port)))

        started = time.monotonic()
        info = _spawn(port)
        notes.insert(0, f"started the local cloud in {time.monotonic() - started:.1f} s")
        return info, "; ".join(notes)


def down() -> str:
    with _lock():
        info = _read_pidfile()
        if info is None:
            return "the local cloud is not running"
        pidfile_path().unlink(missing_ok=True)
        if not proc.is_running(info["pid"]):
            return f"the local cloud was not running (removed a stale pidfile of pid {info['pid']})"
        proc.stop_group(info["pid"])
        return f"stopped the local cloud (pid {info['pid']})"


def reset() -> str:
    current = status()
    if not current["running"]:
        if current["pid"] is not None and proc.is_running(current["pid"]):
            raise LabkitError(f"{current['problem']}, so it cannot be reset; `labkit logs` shows what it printed.")
        raise LabkitError(
            "the local cloud is not running, so there is nothing to reset; `labkit up` starts an empty one."
        )
    request = urllib.request.Request(current["endpoint"] + "/_labkit/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return "emptied the local cloud: every resource on it is gone"


def log_tail(lines: int = 40) -> str:
    return proc.tail(logfile_path(), lines)


def _spawn(port: int) -> dict:
    log_path = logfile_path()
    if log_path.exists() and log_path.stat().st_size > LOG_ROTATE_BYTES:
        log_path.replace(log_path.with_suffix(".log.1"))
    log = open(log_path, "a")
    log.write(f"\n=== labkit up {time.strftime('%Y-%m-%d %H:%M:%S')} port {port} ===\n")
    log.flush()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # A new session: the cloud outlives the kernel or shell that started it, and `down` can stop
    # the whole process group (the data plane's workers too).
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labkit.localcloud.server",
            "--port",
            str(port),
            "--region",
            config.local_region(),
            "--pidfile",
            str(pidfile_path()),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=config.COURSE_ROOT,
        env=env,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        code = process.poll()
        if code is not None:
            if code == EXIT_PORT_TAKEN:
                raise LabkitError(_port_taken_message(port, _describe_port_owner(port)))
            raise LabkitError(
                f"the local cloud exited during start-up (exit code {code}). Its last log lines:\n{log_tail(15)}"
            )
        found = _health(port, timeout=0.2)
        if found is not None and found.get("pid") == process.pid:
            return found
        time.sleep(0.01)
    proc.stop_group(process.pid)
    raise LabkitError(
        f"the local cloud did not answer within {READY_TIMEOUT_S:.0f} s and was "
        f"stopped. Its last log lines:\n{log_tail(15)}"
    )


def _health(port: int, timeout: float = 0.5) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_labkit/health", timeout=timeout) as response:
            found = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return found if isinstance(found, dict) and "pid" in found else None


def _wait_for_health(port: int, pid: int, timeout: float) -> dict | None:
    deadline = time.monotonic() + timeout
    while True:
        found = _health(port)
        if found is not None and found.get("pid") == pid:
            return found
        if time.monotonic() > deadline or not proc.is_running(pid):
            return None
        time.sleep(0.05)


def _read_pidfile() -> dict | None:
    try:
        info = json.loads(pidfile_path().read_text())
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("pid"), int) else None


def _write_pidfile(info: dict) -> None:
    pidfile_path().write_text(json.dumps(info))


def _describe_port_owner(port: int) -> str:
    """Best effort on Linux: name the process listening on the port, from /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for process_dir in Path("/proc").glob("[0-9]*"):
        try:
            links = {os.readlink(fd) for fd in (process_dir / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            command = (process_dir / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            return f"another program (pid {process_dir.name}: {command[:80]})"
    return "another program"


def _port_taken_message(port: int, owner: str) -> str:
    return (
        f"port {port} on 127.0.0.1 is taken by {owner}. Stop it, or choose another port for "
        f"the local cloud, e.g. `export LABKIT_PORT={port + 1}` (in a notebook: "
        f"os.environ['LABKIT_PORT'] = '{port + 1}' before course.start())."
    )


@contextmanager
def _lock():
    """Two kernels starting at once must not start two clouds."""
    config.state_dir().mkdir(parents=True, exist_ok=True)
    with open(config.state_dir() / "up.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
