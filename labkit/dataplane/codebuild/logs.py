"""A build's log in CloudWatch Logs: group /aws/codebuild/PROJECT, one stream per build named with the
build id's UUID, CodeBuild's own lines prefixed "[Container] TIME", the commands' output as it is.
Written in-process into moto's logs backend, in batches, as the commands run."""

import threading
import time
from datetime import UTC, datetime

from moto.logs.models import logs_backends

BATCH_LINES = 50


class BuildLog:
    def __init__(self, account_id: str, region: str, project: str, build_id: str):
        self.backend = logs_backends[account_id][region]
        self.group = f"/aws/codebuild/{project}"
        self.stream = build_id.split(":", 1)[1]
        self.region, self.account_id = region, account_id
        self._pending: list[dict] = []
        self._lock = threading.Lock()
        if self.group not in self.backend.groups:
            self.backend.create_log_group(self.group, {})
        self.backend.create_log_stream(self.group, self.stream)

    def description(self) -> dict:
        arn = f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{self.group}:log-stream:{self.stream}"
        return {
            "groupName": self.group,
            "streamName": self.stream,
            "deepLink": f"https://console.aws.amazon.com/cloudwatch/home?region={self.region}#logEvent:group="
            f"{self.group};stream={self.stream}",
            "cloudWatchLogsArn": arn,
        }

    def line(self, message: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S.%f")
        self.output(f"[Container] {stamp} {message}")

    def output(self, message: str) -> None:
        with self._lock:
            self._pending.append({"timestamp": int(time.time() * 1000), "message": message})
            if len(self._pending) >= BATCH_LINES:
                self._write()

    def flush(self) -> None:
        with self._lock:
            self._write()

    def _write(self) -> None:
        if self._pending:
            self.backend.put_log_events(self.group, self.stream, self._pending)
            self._pending = []
