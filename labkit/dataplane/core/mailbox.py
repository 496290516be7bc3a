"""Where the local cloud's email goes: there is no mail server, so messages AWS would send (Cognito's
verification codes now; SES later) are kept here, newest last, for the learner to read through
/_labkit/mailbox (labkit.dataplane.mail) as they would read their inbox."""

import threading
import time
from dataclasses import asdict, dataclass

KEPT = 1000  # the newest messages are kept; a mailbox is for reading, not archiving


@dataclass(frozen=True)
class Message:
    to: str
    sender: str
    subject: str
    body: str
    sent_at: float


_messages: list[Message] = []
_lock = threading.Lock()


def deliver(to: str, subject: str, body: str, sender: str) -> None:
    with _lock:
        _messages.append(Message(to, sender, subject, body, time.time()))
        del _messages[:-KEPT]


def messages(to: str | None = None) -> list[dict]:
    """The messages to that address (every message without one), oldest first."""
    with _lock:
        return [asdict(m) for m in _messages if to is None or m.to.lower() == to.lower()]


def reset() -> None:
    with _lock:
        _messages.clear()
