"""The learner's inbox on the local target: what the local cloud "sent" by email (Cognito's codes;
later SES mail), read as a learner reads their mail. On the aws target mail goes to the real address,
and is read there."""

import json
import re
import urllib.parse
import urllib.request

from labkit.errors import LabkitError


def messages(to: str) -> list[dict]:
    """The messages sent to that address, oldest first: each with to, sender, subject, body, sent_at."""
    from labkit import course

    env = course.current()
    if env is None or env.target != "local" or not env.endpoint:
        raise LabkitError(
            f"on the aws target, mail to {to} goes to that real address: read it there "
            "(the local mailbox exists only on the local target)."
        )
    query = urllib.parse.urlencode({"to": to})
    with urllib.request.urlopen(f"{env.endpoint}/_labkit/mailbox?{query}", timeout=10) as response:
        return json.load(response)["Messages"]


def latest_code(to: str) -> str:
    """The six-digit code in the newest message to that address (a Cognito verification code)."""
    for message in reversed(messages(to)):
        found = re.search(r"\b(\d{6})\b", message["body"])
        if found:
            return found.group(1)
    raise LabkitError(f"no message with a code has reached {to} yet: sign up (or ask for a new code) first.")
