"""The awslogs log driver: a container's stdout and stderr, line by line, to CloudWatch Logs
(moto's logs backend, in this process), in the stream `prefix/container-name/task-id`."""

import os
import select
import threading
import time

from labkit.dataplane.ecs.failures import TaskFailed

FLUSH_EVERY_S = 0.2
MAX_EVENT_BYTES = 256 * 1024 - 26  # CloudWatch Logs' event size limit, less its overhead
_write_lock = threading.Lock()  # moto's logs backend is not thread-safe


class LogDestination:
    def __init__(self, options: dict, container_name: str, task_id: str, account_id: str, region: str):
        self.group = options.get("awslogs-group", "")
        prefix = options.get("awslogs-stream-prefix")
        self.stream = f"{prefix}/{container_name}/{task_id}" if prefix else task_id
        self.create_group = str(options.get("awslogs-create-group", "false")).lower() == "true"
        self.account_id = account_id
        self.region = options.get("awslogs-region", region)

    def open(self) -> None:
        """Create the stream, as the driver does when the container starts."""
        backend = self._backend()
        with _write_lock:
            if self.group not in backend.groups:
                if not self.create_group:
                    raise TaskFailed(
                        "ResourceInitializationError: failed to validate logger args: create "
                        "stream has been retried 1 times: failed to create Cloudwatch log stream: "
                        "ResourceNotFoundException: The specified log group does not exist. : "
                        "exit status 1"
                    )
                backend.ensure_log_group(self.group)
            backend.ensure_log_stream(self.group, self.stream)

    def ship(self, pipe) -> None:
        """Read the container's output until it closes; a line reaches CloudWatch Logs within
        FLUSH_EVERY_S, batched with the lines around it."""
        descriptor = pipe.fileno()
        pending: list[dict] = []
        partial = b""
        last_flush = time.monotonic()
        while True:
            readable, _, _ = select.select([descriptor], [], [], FLUSH_EVERY_S)
            chunk = os.read(descriptor, 65536) if readable else None
            if chunk == b"":
                break
            if chunk:
                *lines, partial = (partial + chunk).split(b"\n")
                pending += [self._event(line) for line in lines]
            if pending and time.monotonic() - last_flush >= FLUSH_EVERY_S:
                self._write(pending)
                pending, last_flush = [], time.monotonic()
        self._write(pending + ([self._event(partial)] if partial else []))
        pipe.close()

    @staticmethod
    def _event(line: bytes) -> dict:
        message = line.rstrip(b"\r")[:MAX_EVENT_BYTES].decode("utf-8", "replace")
        return {"timestamp": int(time.time() * 1000), "message": message}

    def _write(self, events: list[dict]) -> None:
        if not events:
            return
        try:
            with _write_lock:
                self._backend().put_log_events(self.group, self.stream, events)
        except Exception as error:  # the group was deleted meanwhile: the lines are lost, as on AWS
            print(f"awslogs: {self.group}/{self.stream}: {error!r}", flush=True)

    def _backend(self):
        from moto.logs.models import logs_backends

        return logs_backends[self.account_id][self.region]
