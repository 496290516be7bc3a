"""The graph every diagram is drawn from, whether it comes from a lab's spec or from the live target."""

import json
from dataclasses import dataclass, field

DIRECTIONS = ("LR", "TB", "RL", "BT")


@dataclass(frozen=True)
class Group:
    """A box around nodes: "AWS region", "your machine", an ECS cluster."""

    id: str
    label: str
    parent: str | None = None


@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    label: str
    group: str | None = None
    name: str | None = None
    """The deployed resource's name, which a live node is matched by; None for what is not a
    resource on the target (a browser, the monolith on your machine)."""
    tags: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    """A live resource's tags; empty in a spec."""


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""

    @property
    def ends(self) -> tuple[str, str]:
        return self.source, self.target


@dataclass(frozen=True)
class Graph:
    title: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...] = ()
    groups: tuple[Group, ...] = ()
    direction: str = "LR"
    notes: tuple[str, ...] = ()
    """What could not be looked at (a kind the target does not implement); never drawn."""

    def node(self, node_id: str) -> Node:
        return next(node for node in self.nodes if node.id == node_id)

    def drawn(self) -> dict:
        """Everything that decides the picture, in a normal form: two graphs draw the same diagram
        exactly when these are equal. This is what a rendered PNG carries inside it."""
        return {
            "title": self.title,
            "direction": self.direction,
            "groups": [{"id": g.id, "label": g.label, "parent": g.parent} for g in self.groups],
            "nodes": [{"id": n.id, "kind": n.kind, "label": n.label, "group": n.group} for n in self.nodes],
            "edges": [{"from": e.source, "to": e.target, "label": e.label} for e in self.edges],
        }

    def drawn_json(self) -> str:
        return json.dumps(self.drawn(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
