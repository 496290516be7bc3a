"""New execution environments forked from a warm template, so that a cold start costs the handler's own
import and init, not a new interpreter importing the runtime client and boto3 (150-240 ms on 2 cores).

The template is one process per local cloud, started on the first cold start: a Python that has imported
what every environment imports (boto3 above all) and then waits, single-threaded, for requests on a
Unix socket. For each it forks twice: the environment (the grandchild) gets the pipe it writes its output
to (passed with the request), its own working directory, environment variables (os.environ replaced, the time
zone read again, PYTHONPATH put on sys.path as the interpreter does at start; Python reseeds `random` in a
forked child), and runs the
runtime interface client as `python -c RUNTIME_CLIENT HANDLER` would. The middle process exits at once, so
the environment is adopted by the local cloud, which is its subreaper (Linux's PR_SET_CHILD_SUBREAPER):
the cloud waits for it, kills it and reads its exit status as it does a process it started itself
(ForkedProcess), and it stays in the cloud's process group, so `labkit down` stops it too.

Where this cannot work (not Linux, or the template failed to start), workers start as new processes.
"""

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading

# In the template: import what every environment needs, then serve fork requests until the socket closes.
TEMPLATE = r"""
import json, os, socket, sys, time
# What every environment imports, but awslambdaric: its native client reads AWS_LAMBDA_RUNTIME_API once,
# when it is imported, so each environment imports it itself (about 20 ms; boto3 is the 200 ms).
import boto3, http.client, logging, pathlib

RUNTIME_CLIENT = sys.argv[2]
server = socket.socket(fileno=int(sys.argv[1]))

def become_environment(request, output):
    server.close()
    sys.stdout.flush(); sys.stderr.flush()
    os.dup2(output, 1); os.dup2(output, 2); os.close(output)
    devnull = os.open(os.devnull, os.O_RDONLY); os.dup2(devnull, 0); os.close(devnull)
    os.chdir(request["cwd"])
    os.environ.clear(); os.environ.update(request["env"])
    time.tzset()
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[1:1] = [p for p in paths if p not in sys.path]
    sys.argv = ["-c", request["handler"]]
    exec(compile(RUNTIME_CLIENT, "<string>", "exec"), {"__name__": "__main__"})

while True:
    try:
        message, fds, _, _ = socket.recv_fds(server, 1 << 20, 1)
    except OSError:
        break
    if not message:
        break
    request = json.loads(message)
    told, tell = os.pipe()
    middle = os.fork()
    if middle == 0:
        os.close(told)
        environment = os.fork()
        if environment == 0:
            try:
                os.close(tell)
                become_environment(request, fds[0])
            finally:
                os._exit(1)
        os.write(tell, str(environment).encode())
        os._exit(0)
    os.close(tell)
    os.close(fds[0])
    environment = int(os.read(told, 32))
    os.close(told)
    os.waitpid(middle, 0)  # once it is gone, the environment is the local cloud's child
    server.send(json.dumps({"pid": environment}).encode())
"""

_PR_SET_CHILD_SUBREAPER = 36
_lock = threading.Lock()
_template: "Template | None" = None
_unavailable = False


class Template:
    def __init__(self, runtime_client: str, env: dict[str, str]):
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            [sys.executable, "-c", TEMPLATE, str(theirs.fileno()), runtime_client],
            pass_fds=[theirs.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        theirs.close()

    def fork(self, handler: str, cwd: str, env: dict[str, str], output_fd: int) -> int:
        """The pid of a new environment writing its output to output_fd."""
        request = json.dumps({"handler": handler, "cwd": cwd, "env": env}).encode()
        socket.send_fds(self._socket, [request], [output_fd])
        answer = self._socket.recv(4096)
        if not answer:
            raise OSError("the execution environment template has exited")
        return json.loads(answer)["pid"]

    def stop(self) -> None:
        self._socket.close()
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()


class ForkedProcess:
    """An environment forked from the template, adopted by this process: what workers.py uses of a Popen."""

    def __init__(self, pid: int, output_fd: int):
        self.pid, self.returncode = pid, None
        self.stdout = os.fdopen(output_fd, "rb", buffering=0)

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: gone all the same
                self.returncode = -signal.SIGKILL
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self) -> int:
        while self.poll() is None:
            try:
                _, status = os.waitpid(self.pid, 0)
                self.returncode = os.waitstatus_to_exitcode(status)
            except ChildProcessError:
                self.returncode = -signal.SIGKILL
        return self.returncode


def start(runtime_client: str, handler: str, cwd: str, env: dict[str, str]):
    """A process running the environment, forked from the template; None where the template cannot serve."""
    with _lock:
        template = _ready(runtime_client, env)
        if template is None:
            return None
        read_fd, write_fd = os.pipe()
        try:
            pid = template.fork(handler, cwd, env, write_fd)
        except OSError:
            os.close(read_fd)
            _give_up()
            return None
        finally:
            os.close(write_fd)
    return ForkedProcess(pid, read_fd)


def stop() -> None:
    """At reset and exit: the next cold start begins a new template."""
    global _template
    with _lock:
        if _template is not None:
            _template.stop()
            _template = None


def _ready(runtime_client: str, env: dict[str, str]) -> Template | None:
    global _template, _unavailable
    if _unavailable:
        return None
    if _template is None:
        if not sys.platform.startswith("linux") or not _become_subreaper():
            _unavailable = True
            return None
        base = {name: env[name] for name in ("PATH", "LANG", "TZ") if name in env}
        _template = Template(runtime_client, base)
    return _template


def _give_up() -> None:
    global _template, _unavailable
    if _template is not None:
        _template.stop()
    _template, _unavailable = None, True


def _become_subreaper() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
