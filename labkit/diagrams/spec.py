"""A lab's target architecture, read from its declarative spec: diagrams/NN_topic.toml.

    title = "02 The catalog service"
    direction = "LR"                      # optional: LR (default), TB, RL, BT

    [[groups]]
    id = "region"
    label = "AWS region"                  # optional `parent` = the id of an enclosing group

    [[nodes]]
    id = "fn"                             # stable: the drawing's node name and the comparison's key
    kind = "lambda"                       # one of labkit.diagrams.kinds.KINDS
    label = "Lambda function catalog"
    group = "region"                      # optional
    name = "catalog"                      # optional: the deployed resource's name

    [[edges]]
    from = "api"
    to = "fn"
    label = "proxy"                       # optional

A mistake raises LabkitError naming the file, the line when it can be found, and the key.
"""

import difflib
import re
import tomllib
from pathlib import Path
from typing import NoReturn

from labkit import config
from labkit.diagrams.graph import DIRECTIONS, Edge, Graph, Group, Node
from labkit.diagrams.kinds import KINDS
from labkit.errors import LabkitError

SPEC_DIR = config.COURSE_ROOT / "diagrams"
ID_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")

_TOP_KEYS = ("title", "direction", "groups", "nodes", "edges")
_ENTRY_KEYS = {
    "groups": ("id", "label", "parent"),
    "nodes": ("id", "kind", "label", "group", "name"),
    "edges": ("from", "to", "label"),
}


def lab_key(lab_id: str | int) -> str:
    """ "2", 2 and "02" all mean lab 02."""
    text = str(lab_id).strip()
    if not text.isdigit():
        raise LabkitError(f"lab {lab_id!r} is not a lab number such as 02.")
    return f"{int(text):02d}"


def spec_path(lab_id: str | int, directory: Path = SPEC_DIR) -> Path:
    """The spec of a lab: the one diagrams/NN_*.toml."""
    lab = lab_key(lab_id)
    found = sorted(directory.glob(f"{lab}_*.toml"))
    if len(found) != 1:
        known = ", ".join(path.stem for path in sorted(directory.glob("*.toml"))) or "none"
        problem = "has no spec" if not found else f"has {len(found)} specs"
        raise LabkitError(f"lab {lab} {problem} in {display_path(directory)} (specs there: {known}).")
    return found[0]


def load(path: Path) -> Graph:
    """The graph a spec file describes, checked: every kind known, every reference resolvable."""
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:  # its message already says "(at line N, column M)"
        raise LabkitError(f"{display_path(path)}: not valid TOML: {error}") from None
    return _Reader(path, text).graph(raw)


class _Reader:
    """Checks one spec's parsed contents; every complaint names the file, line and key."""

    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = text.splitlines()

    def graph(self, raw: dict) -> Graph:
        self._known_keys(raw, _TOP_KEYS, "the top level")
        title = self._string(raw, "title", "the top level")
        direction = raw.get("direction", "LR")
        if direction not in DIRECTIONS:
            self._fail(
                f"direction {direction!r} is not one of {', '.join(DIRECTIONS)}", "the top level", ("direction", None)
            )
        groups = self._groups(self._entries(raw, "groups"))
        nodes = self._nodes(self._entries(raw, "nodes"), {g.id for g in groups})
        if not nodes:
            self._fail("a diagram needs at least one [[nodes]] entry", "nodes")
        edges = self._edges(self._entries(raw, "edges"), {n.id for n in nodes})
        return Graph(title=title, direction=direction, groups=tuple(groups), nodes=tuple(nodes), edges=tuple(edges))

    def _groups(self, entries: list[tuple[str, dict]]) -> list[Group]:
        groups: list[Group] = []
        for where, entry in entries:
            group_id = self._id(entry, where, {g.id for g in groups})
            parent = entry.get("parent")
            # A parent declared earlier: that also rules out a group inside itself.
            if parent is not None and parent not in {g.id for g in groups}:
                self._unknown("parent", parent, "a group declared above it", [g.id for g in groups], where)
            groups.append(Group(id=group_id, label=self._string(entry, "label", where), parent=parent))
        return groups

    def _nodes(self, entries: list[tuple[str, dict]], group_ids: set[str]) -> list[Node]:
        nodes: list[Node] = []
        for where, entry in entries:
            node_id = self._id(entry, where, {n.id for n in nodes})
            kind = self._string(entry, "kind", where)
            if kind not in KINDS:
                self._unknown("kind", kind, "a known kind", KINDS, where)
            group = entry.get("group")
            if group is not None and group not in group_ids:
                self._unknown("group", group, "a group id", sorted(group_ids), where)
            name = entry.get("name")
            if name is not None:
                name = self._string(entry, "name", where)
            nodes.append(Node(id=node_id, kind=kind, label=self._string(entry, "label", where), group=group, name=name))
        return nodes

    def _edges(self, entries: list[tuple[str, dict]], node_ids: set[str]) -> list[Edge]:
        edges: list[Edge] = []
        for where, entry in entries:
            ends = []
            for key in ("from", "to"):
                end = self._string(entry, key, where)
                if end not in node_ids:
                    self._unknown(key, end, "a node id", sorted(node_ids), where)
                ends.append(end)
            label = self._string(entry, "label", where) if "label" in entry else ""
            edges.append(Edge(source=ends[0], target=ends[1], label=label))
        return edges

    def _entries(self, raw: dict, section: str) -> list[tuple[str, dict]]:
        """The [[section]] tables, each with the name a complaint about it uses."""
        value = raw.get(section, [])
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self._fail(f"{section} must be a list of tables ([[{section}]] entries)", section)
        entries = []
        for index, entry in enumerate(value):
            where = f"{section}[{index}]"
            if isinstance(entry.get("id"), str):
                where += f" (id {entry['id']!r})"
            self._known_keys(entry, _ENTRY_KEYS[section], where)
            entries.append((where, entry))
        return entries

    def _id(self, entry: dict, where: str, taken: set[str]) -> str:
        value = self._string(entry, "id", where)
        if not ID_PATTERN.fullmatch(value):
            self._fail(
                f"id {value!r} must start with a letter and hold only letters, digits, '-' and '_'",
                where,
                ("id", value),
            )
        if value in taken:
            self._fail(f"id {value!r} is used twice", where, ("id", value, True))
        return value

    def _string(self, entry: dict, key: str, where: str) -> str:
        if key not in entry:
            self._fail(f"the key {key!r} is missing", where)
        value = entry[key]
        if not isinstance(value, str) or not value.strip():
            self._fail(f"{key} must be a non-empty string, not {value!r}", where)
        return value

    def _known_keys(self, entry: dict, allowed: tuple[str, ...], where: str) -> None:
        for key in entry:
            if key not in allowed:
                self._unknown("key", key, "an allowed key", allowed, where, look_for=(key, None))

    def _unknown(
        self, key: str, value: str, what: str, choices, where: str, look_for: tuple[str, str | None] | None = None
    ) -> NoReturn:
        close = difflib.get_close_matches(value, list(choices), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" ({', '.join(choices) or 'none'})"
        self._fail(f"{key} {value!r} is not {what}{hint}", where, look_for or (key, value))

    def _fail(self, problem: str, where: str, look_for: tuple | None = None) -> NoReturn:
        """Raise the complaint; `look_for` is what _line_of takes to find its line."""
        line = self._line_of(*look_for) if look_for else None
        at = f", line {line}" if line else ""
        raise LabkitError(f"{display_path(self.path)}{at} ({where}): {problem}")

    def _line_of(self, key: str, value: str | None, last: bool = False) -> int | None:
        """The first (or last) line that sets `key`, to `value` when given, or opens a [key] or
        [[key]] table: good enough to point at a typo."""
        if value is None:
            pattern = re.compile(r"(^|[\s{,])" + re.escape(key) + r"\s*=|^\s*\[\[?\s*" + re.escape(key) + r"\s*\]")
        else:
            pattern = re.compile(r"(^|[\s{,])" + re.escape(key) + r"\s*=\s*[\"']" + re.escape(value) + r"[\"']")
        found = [number for number, line in enumerate(self.lines, start=1) if pattern.search(line.split("#", 1)[0])]
        return (found[-1] if last else found[0]) if found else None


def display_path(path: Path) -> str:
    """A path as a message shows it: relative to the course folder when inside it."""
    try:
        return str(path.relative_to(config.COURSE_ROOT))
    except ValueError:
        return str(path)
