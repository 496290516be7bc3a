"""Temporary credentials of a role, as a function or a task gets them on AWS (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), and who a request signed with them comes from.

Only these credentials are checked against policies: the learner's own (the notebook's "testing")
stay an administrator's, as an account's owner is."""

import hashlib
import secrets
import string
import threading
import time
from dataclasses import dataclass

# AWS's temporary access key ids start with ASIA (IAM User Guide, "Unique identifiers").
TEMPORARY_KEY_PREFIX = "ASIA"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class Session:
    role_arn: str  # arn:aws:iam::123456789012:role/NAME (a path may stand before NAME)
    session_name: str

    @property
    def account(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def assumed_role_arn(self) -> str:
        """What AWS names the caller in an AccessDenied message and in GetCallerIdentity."""
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role_name}/{self.session_name}"


_sessions: dict[str, Session] = {}  # access key id -> session
_issued: dict[Session, dict[str, str]] = {}  # session -> its credentials
_issued_at: dict[Session, float] = {}  # session -> when its credentials were issued (epoch seconds)
_lock = threading.Lock()


def credentials(role_arn: str, session_name: str) -> dict[str, str]:
    """Environment variables holding temporary credentials of the role. The same session keeps its
    credentials, so that a function's warm execution environments stay the same environment."""
    session = Session(role_arn, session_name)
    with _lock:
        if session not in _issued:
            key_id = TEMPORARY_KEY_PREFIX + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
            _sessions[key_id] = session
            _issued[session] = {
                "AWS_ACCESS_KEY_ID": key_id,
                "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
                "AWS_SESSION_TOKEN": secrets.token_urlsafe(120),
            }
            _issued_at[session] = time.time()
        return dict(_issued[session])


def stable_id(text: str) -> str:
    """17 characters of AWS's unique-id alphabet, always the same for the same text."""
    digest = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    return "".join(_KEY_ALPHABET[(digest >> (5 * i)) % len(_KEY_ALPHABET)] for i in range(17))


def of(access_key_id: str) -> Session | None:
    with _lock:
        return _sessions.get(access_key_id)


def issued_at(session: Session) -> float | None:
    with _lock:
        return _issued_at.get(session)


def forget_all() -> None:
    with _lock:
        _sessions.clear()
        _issued.clear()
        _issued_at.clear()
