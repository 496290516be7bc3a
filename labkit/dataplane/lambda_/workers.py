"""Execution environments: warm Python processes running AWS's runtime interface client.

A Worker is one execution environment: `python -m awslambdaric module.handler` (the client AWS ships
in its Python base images; RUNTIME_CLIENT says how it is started) talking to a Runtime API endpoint
of its own on an ephemeral 127.0.0.1 port, forked from a warm template (template.py) where it can be.
That endpoint is served by the thread that invokes the worker, with no server thread in between: it
hands the event to the client's waiting `GET .../invocation/next` and waits for the `POST .../response`
or `.../error`, while watching the clock (timeout), the process (crashes) and its resident memory (the
memory size). pool.py keeps workers warm and reuses them.
"""

import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field

from labkit.dataplane.lambda_ import logs, runtime_api, template

# The Init phase limit of on-demand functions (AWS Lambda Developer Guide, "Understanding the
# Lambda execution environment lifecycle").
INIT_TIMEOUT_S = 10.0
# How often a busy worker's resident memory is compared with the memory size. Memory is enforced
# by watching RSS rather than with an rlimit: RLIMIT_AS counts address space (a Python process with
# boto3 maps far more than it uses) and makes the handler raise MemoryError, while AWS's cgroup
# limit kills the process, which is what a learner should see.
MEMORY_SAMPLE_S = 0.05
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
_ACCEPTED = b'{"status":"OK"}'
# awslambdaric's entry point (python -m awslambdaric HANDLER), but waiting for the next event on the
# main thread. For python3.12 and later it waits from a new thread each time, so that the main
# thread can run signal handlers meanwhile (AWS may send SIGTERM at shutdown); the local cloud only
# ever kills a worker with SIGKILL, and the thread costs ~0.2 ms per invoke. Should a later
# awslambdaric rename the hook, it simply keeps its thread.
RUNTIME_CLIENT = (
    "import sys\n"
    "from awslambdaric import __main__ as runtime_client\n"
    "from awslambdaric.lambda_config import LambdaConfigProvider\n"
    "LambdaConfigProvider._parse_thread_polling = lambda self: False\n"
    "runtime_client.main(sys.argv)\n"
)


@dataclass
class WorkerSpec:
    """What a worker runs. Workers with the same key are interchangeable."""

    key: str
    family: tuple  # (account, region, function name, version): a new key retires the old workers
    version: str
    handler: str
    code_dir: str
    env: dict[str, str]
    memory_mb: int


@dataclass
class Outcome:
    """What happened to one invocation in a worker, before it is reported the way AWS does."""

    kind: str  # "response", "error", "init_error", "timeout" or "exited"
    started_ms: int  # wall clock when the event was handed over (the START line)
    body: bytes = b""
    error_type: str = ""
    exit_reason: str = ""  # as AWS words it: "signal: killed", "exit status 1"
    out_of_memory: bool = False
    elapsed_s: float = 0.0
    init_duration_ms: float | None = None  # set on a cold start
    init_lines: list[tuple[int, str]] = field(default_factory=list)  # output before the event
    lines: list[tuple[int, str]] = field(default_factory=list)  # the handler's stdout and stderr
    max_memory_mb: int = 0

    @property
    def worker_reusable(self) -> bool:
        return self.kind in ("response", "error")


class OutputLines:
    """A worker's stdout and stderr cut into lines, each stamped with when it arrived (epoch ms)."""

    def __init__(self):
        self._lines: list[tuple[int, str]] = []
        self._partial = b""
        self._partial_ms = 0

    def feed(self, data: bytes) -> None:
        now = logs.now_ms()
        pieces = data.split(b"\n")
        first_ms = self._partial_ms if self._partial else now
        pieces[0] = self._partial + pieces[0]
        for index, piece in enumerate(pieces[:-1]):
            if piece:  # CloudWatch takes no empty events
                self._lines.append((first_ms if index == 0 else now, _as_event(piece)))
        self._partial = pieces[-1]
        self._partial_ms = first_ms if len(pieces) == 1 else now

    def take(self) -> list[tuple[int, str]]:
        if self._partial:
            self._lines.append((self._partial_ms, _as_event(self._partial)))
            self._partial = b""
        lines, self._lines = self._lines, []
        return lines


def _as_event(line: bytes) -> str:
    # awslambdaric joins the lines of one error report with "\r" so that it stays one log event.
    return line.decode("utf-8", "replace").replace("\r", "\n")


class Worker:
    """One execution environment. Used by one invoking thread at a time (the pool sees to that)."""

    def __init__(self, spec: WorkerSpec):
        self.spec = spec
        self.log_stream = logs.new_stream_name(spec.version)
        self.generation = 0  # set by the pool
        self.last_used = time.monotonic()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        env = {
            **spec.env,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.log_stream,
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self._listener.getsockname()[1]}",
        }
        self._spawned = time.monotonic()
        # Same process group as the local cloud: `labkit down` stops the workers with it.
        self._process = template.start(RUNTIME_CLIENT, spec.handler, spec.code_dir, env) or subprocess.Popen(
            [sys.executable, "-c", RUNTIME_CLIENT, spec.handler],
            cwd=spec.code_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._output_fd = self._process.stdout.fileno()
        os.set_blocking(self._output_fd, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ, "accept")
        self._selector.register(self._output_fd, selectors.EVENT_READ, "output")
        self._connections: list[runtime_api.Connection] = []
        self._waiting: runtime_api.Connection | None = None  # holds the client's GET .../next
        self._initialised = False
        self._peak_rss_kb = 0
        self._next_memory_check = 0.0

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def invoke(
        self,
        request_id: str,
        payload: bytes,
        invoked_arn: str,
        timeout_s: float,
        client_context: str | None = None,
        trace_header: str | None = None,
    ) -> Outcome:
        output = OutputLines()
        cold = not self._initialised
        began = time.monotonic()
        init_deadline = self._spawned + INIT_TIMEOUT_S if cold else began + timeout_s
        self._next_memory_check = began + MEMORY_SAMPLE_S
        while self._waiting is None:
            ended, connection, request = self._next_request(init_deadline, output)
            if ended:
                return self._ended(ended, logs.now_ms(), began, output)
            if request.method == "GET" and request.path == runtime_api.NEXT_PATH:
                self._waiting = connection
            elif request.method == "POST" and request.path == runtime_api.INIT_ERROR_PATH:
                connection.reply(202, _ACCEPTED)
                init_duration_ms = (time.monotonic() - self._spawned) * 1000
                max_memory_mb = self._max_memory_mb()
                self.stop_process()  # the client would exit by itself; no need to wait for it
                self._read_output(output)
                return Outcome(
                    "init_error",
                    logs.now_ms(),
                    body=request.body,
                    error_type=request.headers.get(runtime_api.ERROR_TYPE_HEADER, ""),
                    init_duration_ms=init_duration_ms,
                    init_lines=output.take(),
                    max_memory_mb=max_memory_mb,
                )
            else:
                connection.reply(404)
        init_duration_ms = None
        if cold:
            self._initialised = True
            init_duration_ms = (time.monotonic() - self._spawned) * 1000
        init_lines = output.take()

        started_ms, started = logs.now_ms(), time.monotonic()
        headers = {
            "Content-Type": "application/json",  # without it awslambdaric's client segfaults
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(started_ms + int(timeout_s * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": invoked_arn,
            "Lambda-Runtime-Trace-Id": trace_header or _trace_id(),
        }
        if client_context:
            headers["Lambda-Runtime-Client-Context"] = client_context
        connection, self._waiting = self._waiting, None
        try:
            connection.reply(200, payload, headers)
        except OSError:  # the client died while it waited for work
            return self._ended("exited", started_ms, started, output, init_lines, init_duration_ms)

        result_prefix = f"{runtime_api.INVOCATION_PREFIX}{request_id}/"
        while True:
            ended, connection, request = self._next_request(started + timeout_s, output)
            if ended:
                return self._ended(ended, started_ms, started, output, init_lines, init_duration_ms)
            if request.method == "POST" and request.path in (result_prefix + "response", result_prefix + "error"):
                break
            connection.reply(400 if request.path.startswith(runtime_api.INVOCATION_PREFIX) else 404)
        connection.reply(202, _ACCEPTED)
        elapsed_s = time.monotonic() - started
        self._read_output(output)  # everything printed before the POST is already in the pipe
        self.last_used = time.monotonic()
        return Outcome(
            "response" if request.path.endswith("/response") else "error",
            started_ms,
            body=request.body,
            error_type=request.headers.get(runtime_api.ERROR_TYPE_HEADER, ""),
            elapsed_s=elapsed_s,
            init_duration_ms=init_duration_ms,
            init_lines=init_lines,
            lines=output.take(),
            max_memory_mb=self._max_memory_mb(),
        )

    def _next_request(self, deadline: float, output: OutputLines):
        """(None, connection, request), or (why it ended, None, None): "timeout", "memory" or
        "exited"."""
        while True:
            for connection in self._connections:
                request = connection.next_request()
                if request is not None:
                    return None, connection, request
            if self._process.poll() is not None:
                self._read_output(output)
                return "exited", None, None
            now = time.monotonic()
            if now >= deadline:
                return "timeout", None, None
            if now >= self._next_memory_check:
                rss_kb = self._rss_kb()
                self._peak_rss_kb = max(self._peak_rss_kb, rss_kb)
                if rss_kb > self.spec.memory_mb * 1024:
                    return "memory", None, None
                self._next_memory_check = now + MEMORY_SAMPLE_S
            wait = min(deadline, self._next_memory_check) - now
            for key, _ in self._selector.select(max(wait, 0.0)):
                if key.data == "accept":
                    self._accept()
                elif key.data == "output":
                    self._read_output(output)
                elif not key.data.receive():
                    self._drop(key.data)

    def _ended(
        self, why: str, started_ms: int, started: float, output: OutputLines, init_lines=None, init_duration_ms=None
    ) -> Outcome:
        self.stop_process()
        self._read_output(output)
        if why == "timeout":
            kind, reason = "timeout", ""
        elif why == "memory":
            kind, reason = "exited", "signal: killed"
        else:
            kind, reason = "exited", _exit_reason(self._process.returncode)
        return Outcome(
            kind,
            started_ms,
            exit_reason=reason,
            out_of_memory=why == "memory",
            elapsed_s=time.monotonic() - started,
            init_duration_ms=init_duration_ms,
            init_lines=init_lines if init_lines is not None else [],
            lines=output.take(),
            max_memory_mb=self._max_memory_mb(),
        )

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        connection = runtime_api.Connection(sock)
        self._connections.append(connection)
        self._selector.register(connection, selectors.EVENT_READ, connection)

    def _drop(self, connection: runtime_api.Connection) -> None:
        self._selector.unregister(connection)
        self._connections.remove(connection)
        connection.close()
        if self._waiting is connection:
            self._waiting = None

    def _read_output(self, output: OutputLines) -> None:
        while True:
            try:
                data = os.read(self._output_fd, 256 * 1024)
            except BlockingIOError:
                return
            except OSError:  # already closed by stop()
                return
            if not data:
                self._selector.unregister(self._output_fd)
                self._output_fd = -1
                return
            output.feed(data)

    def _rss_kb(self) -> int:
        try:
            with open(f"/proc/{self._process.pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * _PAGE_KB
        except (OSError, IndexError, ValueError):
            return 0

    def _max_memory_mb(self) -> int:
        """Peak resident memory so far, as REPORT's "Max Memory Used" (VmHWM while it lives)."""
        try:
            with open(f"/proc/{self._process.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        self._peak_rss_kb = max(self._peak_rss_kb, int(line.split()[1]))
                        break
        except (OSError, ValueError):
            pass
        return -(-self._peak_rss_kb // 1024)

    def stop_process(self) -> None:
        """Kill the process; safe from any thread, also while another thread is invoking it."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def stop(self) -> None:
        """Kill the process and close everything; only from the thread that owns the worker."""
        self.stop_process()
        self._selector.close()
        for connection in self._connections:
            connection.close()
        self._listener.close()
        self._process.stdout.close()


def _exit_reason(returncode: int) -> str:
    # Worded like AWS's "Runtime exited with error: ..." (Go's os.ProcessState).
    if returncode < 0:
        return "signal: " + (signal.strsignal(-returncode) or str(-returncode)).lower()
    return f"exit status {returncode}"


def _trace_id() -> str:
    """An X-Ray trace header of the form Lambda passes to the runtime."""
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0"
