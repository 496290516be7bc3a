"""The room's settings, from the environment `labkit hub` (or `make hub`) is started with."""

import os
from dataclasses import dataclass
from pathlib import Path

from labkit import config
from labkit.errors import LabkitError

DEFAULT_PORT = 8000
# SharedPasswordAuthenticator refuses shorter ones: a room's password is read out loud, not typed once.
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class HubSettings:
    folder: Path  # the hub's own files: its database, cookie secret, proxy pid, and the learners' homes
    ip: str  # 127.0.0.1: this machine only; 0.0.0.0 to serve the room's network
    port: int
    password: str
    users: tuple[str, ...]  # who may log in; empty: anyone who knows the password

    @property
    def homes(self) -> Path:
        return self.folder / "homes"


def from_environment() -> HubSettings:
    password = os.environ.get("LABKIT_HUB_PASSWORD", "")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise LabkitError(
            f"set LABKIT_HUB_PASSWORD to the room's shared password, at least {MIN_PASSWORD_LENGTH} characters "
            "(every learner logs in with their own name and this password)"
        )
    raw_port = os.environ.get("LABKIT_HUB_PORT", "").strip() or str(DEFAULT_PORT)
    if not raw_port.isdigit() or not 1024 <= int(raw_port) <= 65535:
        raise LabkitError(f"LABKIT_HUB_PORT={raw_port!r} is not a port number between 1024 and 65535")
    folder = Path(os.environ.get("LABKIT_HUB_DIR") or config.COURSE_ROOT / ".labkit-hub").resolve()
    users = tuple(name.strip() for name in os.environ.get("LABKIT_HUB_USERS", "").split(",") if name.strip())
    ip = os.environ.get("LABKIT_HUB_IP", "").strip() or "127.0.0.1"
    return HubSettings(folder=folder, ip=ip, port=int(raw_port), password=password, users=users)
