"""`labkit ls`: what a learner has deployed on a target, kind by kind, with the URLs to call it by.

    labkit ls [--lab NN] [--target local|aws] [--json]       (the command line)
    from labkit.listing import ls; ls(lab="02")               (a notebook shows the same text)

It selects what teardown would delete (labkit.inventory: the course's tags, this learner's) and
reads URLs with labkit.urls: boto3 only, so a real account is listed the same way.
"""

import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from botocore.exceptions import BotoCoreError, ClientError

from labkit import config, course, urls
from labkit.awsapi import Clients
from labkit.errors import LabkitError
from labkit.inventory import Kind, Resource, Selection, apigateway, elb, sqs_sns
from labkit.inventory.kinds import KINDS
from labkit.inventory.selection import lab_tag
from labkit.teardown.base import describe_error

LISTING_THREADS = 8
# A listener shows as a URL on its load balancer's line.
KINDS_LISTED = tuple(kind for kind in KINDS if kind is not elb.LISTENER)


@dataclass(frozen=True)
class Deployed:
    """One resource on the target, as `labkit ls` shows it."""

    kind: str
    name: str
    full_name: str
    id: str
    lab: str
    urls: dict[str, str]
    """Its URLs by what they are reached through: a stage, a listener ("HTTP:80"), "QueueUrl"."""
    note: str = ""
    """Why a kind that has URLs has none here: "no stage yet", or the error reading them."""


@dataclass(frozen=True)
class Unlisted:
    kind: str
    problem: str


@dataclass(frozen=True)
class Listing:
    """What `ls` found: `.deployed` in kind order, `.unlisted` the kinds the target would not list.
    A notebook shows it as `labkit ls` prints it; `.as_json()` is `labkit ls --json`."""

    owner: str
    target: str
    where: str
    lab: str | None
    deployed: list[Deployed]
    unlisted: list[Unlisted]

    def as_text(self) -> str:
        for_lab = f" for lab {self.lab}" if self.lab else ""
        if not self.deployed and not self.unlisted:
            steps = f"lab {self.lab}'s" if self.lab else "a lab's"
            return f"nothing deployed by {self.owner}{for_lab} on target {self.target} yet: run {steps} deploy steps"
        unlisted = [(entry.kind, "", "", "", f"could not be listed: {entry.problem}") for entry in self.unlisted]
        lines = _aligned(_rows(self.deployed) + unlisted)
        return "\n".join([f"What {self.owner} has deployed{for_lab} ({self.where}):", *lines, self._how_to_delete()])

    def as_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def _how_to_delete(self) -> str:
        count = len(self.deployed)
        command = "labkit teardown" + (" --target aws" if self.target == "aws" else "")
        command += f" --lab {self.lab}" if self.lab else ""
        return f"{count} resource{'' if count == 1 else 's'}; `{command}` deletes {'it' if count == 1 else 'them'}."

    __str__ = as_text

    def _repr_pretty_(self, printer, cycle):
        """A notebook cell ending in `ls()` shows the text, not the dataclass."""
        printer.text(self.as_text())


@dataclass(frozen=True)
class _UrlReader:
    read: Callable[[Resource], dict[str, str]]
    when_none: str
    """The note for a resource of this kind without URLs yet."""


URL_READERS = {
    apigateway.REST_API: _UrlReader(lambda api: urls.rest_api_urls(api.id), "no stage yet: not deployed"),
    apigateway.HTTP_API: _UrlReader(lambda api: urls.http_api_urls(api.id), "no stage yet"),
    elb.LOAD_BALANCER: _UrlReader(lambda balancer: urls.listener_urls(balancer.id), "no listener yet"),
    sqs_sns.QUEUE: _UrlReader(lambda queue: {"QueueUrl": queue.id}, ""),
}


def ls(lab: str | None = None, target: str | None = None) -> Listing:
    """What this learner has deployed for the course (only lab `lab`'s, when given) on the target
    this kernel's course.start() chose, unless `target` says."""
    lab = lab_tag(lab)
    env = course.current()
    if env is None and _no_local_cloud_runs(target):
        where = "target local: no local cloud is running"
        return Listing(owner=course.owner(), target="local", where=where, lab=lab, deployed=[], unlisted=[])
    if env is None or (target is not None and target != env.target):
        env = course.start(target=target, quiet=True)
    return _survey(env, lab)


def _survey(env: course.Environment, lab: str | None) -> Listing:
    selection = Selection(lab, env.owner)
    clients = Clients()

    def list_kind(kind: Kind) -> list[Resource] | Unlisted:
        try:
            return kind.resources(clients, selection.wants)
        except Exception as error:  # an API the target lacks or refuses: reported, not fatal
            return Unlisted(kind.label, describe_error(error))

    # Kinds are independent, and on AWS each of their calls takes tens of milliseconds.
    with ThreadPoolExecutor(max_workers=LISTING_THREADS) as pool:
        results = list(pool.map(list_kind, KINDS_LISTED))
    deployed, unlisted = [], []
    for kind, result in zip(KINDS_LISTED, results, strict=True):
        if isinstance(result, Unlisted):
            unlisted.append(result)
        else:
            # URLs are read here, one after the other: labkit.urls uses boto3's default session,
            # which threads must not share.
            deployed += [_deployed(kind, resource) for resource in result]
    return Listing(owner=env.owner, target=env.target, where=str(env), lab=lab, deployed=deployed, unlisted=unlisted)


def _deployed(kind: Kind, resource: Resource) -> Deployed:
    found, note = _urls_of(kind, resource)
    return Deployed(
        kind=kind.label,
        name=resource.name,
        full_name=resource.full_name,
        id=resource.id,
        lab=resource.tags.get(config.LAB_TAG_KEY, ""),
        urls=found,
        note=note,
    )


def _urls_of(kind: Kind, resource: Resource) -> tuple[dict[str, str], str]:
    """Its URLs, and a note when a kind that has URLs has none here."""
    reader = URL_READERS.get(kind)
    if reader is None:
        return {}, ""
    try:
        found = reader.read(resource)
    except (LabkitError, ClientError, BotoCoreError, OSError) as error:
        return {}, f"its URLs could not be read: {describe_error(error)}"
    return found, "" if found else reader.when_none


def _rows(deployed: list[Deployed]) -> list[tuple[str, ...]]:
    """(kind, name, lab, URL label, URL or note) rows; a kind is named on its first row only, and a
    resource on its first URL's."""
    rows, kind_named = [], None
    for item in deployed:
        kind = "" if item.kind == kind_named else item.kind
        kind_named = item.kind
        first = (kind, item.full_name, f"lab {item.lab}" if item.lab else "")
        if not item.urls:
            rows.append((*first, "", item.note))
        for index, (label, url) in enumerate(item.urls.items()):
            rows.append((*(first if index == 0 else ("", "", "")), label, url))
    return rows


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """Each row as a line, each column as wide as its widest cell; an empty column takes no room."""
    columns = [column for column in range(len(rows[0])) if any(row[column] for row in rows)]
    widths = {column: max(len(row[column]) for row in rows) for column in columns}
    return ["  " + "  ".join(row[column].ljust(widths[column]) for column in columns).rstrip() for row in rows]


def _no_local_cloud_runs(target: str | None) -> bool:
    """Is the target the local cloud, and is none running (never started, or exited with its
    resources)? Then nothing is deployed, and listing must not start a cloud to find that out. One
    alive but not answering is left to course.start(), which says what to do."""
    if (target or os.environ.get("LABKIT_TARGET") or "local").strip().lower() != "local":
        return False
    from labkit import proc
    from labkit.localcloud import control

    current = control.status()
    return not current["running"] and not (current["pid"] and proc.is_running(current["pid"]))
