"""A lab's target (its spec) compared with what is deployed (the live graph).

Missing: spec nodes with a `name` whose kind and name no live resource has, and spec edges between
two found nodes that the target lacks. Extra: resources tagged for the lab (labkit:lab) that the spec
does not have, and their edges the spec does not have. What describe calls cannot see (a client, the
monolith on your machine, a function's reads from a table) is listed as not checked.
"""

import re
from dataclasses import dataclass, replace
from pathlib import Path

from labkit import config
from labkit.diagrams import deployed
from labkit.diagrams.drawing import render
from labkit.diagrams.graph import Edge, Graph, Group, Node

CHECKED_KINDS = {kind for lister in deployed.LISTERS for kind in lister.kinds}
CHECKED_EDGES = {edge for lister in deployed.LISTERS for edge in lister.edges}
EXTRA_GROUP = Group(id="extra", label="deployed, not in the target")
MISSING_STYLE = {"shape": "box", "style": "dashed,rounded", "color": "#9AA0A6", "fontcolor": "#9AA0A6"}
MISSING_EDGE_STYLE = {"style": "dashed", "color": "#9AA0A6", "fontcolor": "#9AA0A6"}
EXTRA_STYLE = {"shape": "box", "style": "dashed,rounded", "color": "#D93025"}
EXTRA_EDGE_STYLE = {"style": "dashed", "color": "#D93025"}


@dataclass(frozen=True, repr=False)
class Comparison:
    """What lab `lab` still lacks and what it has beyond its target; str() is a readable report."""

    lab: str
    spec: Graph
    matched: dict[str, str]
    """Spec node id -> the live node id found for it."""
    missing_nodes: tuple[Node, ...]
    missing_edges: tuple[Edge, ...]
    extra_nodes: tuple[Node, ...]
    extra_edges: tuple[Edge, ...]
    unchecked_nodes: tuple[Node, ...]
    unchecked_edges: tuple[Edge, ...]
    notes: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Everything in the target is deployed, and nothing else is tagged for the lab."""
        return not (self.missing_nodes or self.missing_edges or self.extra_nodes or self.extra_edges)

    def __repr__(self) -> str:
        return (
            f"<Comparison lab {self.lab}: {len(self.missing_nodes) + len(self.missing_edges)} "
            f"missing, {len(self.extra_nodes) + len(self.extra_edges)} extra>"
        )

    def __str__(self) -> str:
        return "\n".join(self._lines(bullet="  - "))

    def _repr_markdown_(self) -> str:
        return "\n".join(self._lines(bullet="- ", markdown=True))

    def _lines(self, bullet: str, markdown: bool = False) -> list[str]:
        strong = (lambda text: f"**{text}**") if markdown else str
        # A rule's "/orders*" or a name's "_" must not turn into emphasis.
        plain = (lambda text: re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)) if markdown else str
        missing = [plain(self._spec_node(n)) for n in self.missing_nodes] + [
            plain(self._spec_edge(e)) for e in self.missing_edges
        ]
        extra = [plain(_live_node(n)) for n in self.extra_nodes] + [plain(_live_edge(e)) for e in self.extra_edges]
        if not missing and not extra:
            lines = [
                strong(f"Lab {self.lab} matches its target:") + " everything in the diagram is "
                f"deployed, and nothing else is tagged {config.LAB_TAG_KEY}={self.lab}."
            ]
        else:
            lines = [
                strong(f"Lab {self.lab} compared with its target:") + f" {len(missing)} missing, {len(extra)} extra."
            ]
        if missing:
            lines += ["", strong("Missing") + " (in the target, not deployed yet):"]
            lines += [bullet + item for item in missing]
        if extra:
            tag = f"{config.LAB_TAG_KEY}={self.lab}"
            lines += ["", strong("Extra") + f" (tagged {tag}, not in the target):"]
            lines += [bullet + item for item in extra]
        unchecked = []
        if self.unchecked_nodes:
            unchecked.append(", ".join(n.label for n in self.unchecked_nodes) + " (not resources on the target)")
        if self.unchecked_edges:
            unchecked.append(
                ", ".join(self._spec_edge(e) for e in self.unchecked_edges) + " (not visible to describe calls)"
            )
        if unchecked:
            lines += ["", strong("Not checked:") + " " + plain("; ".join(unchecked)) + "."]
        for note in self.notes:
            lines += ["", strong("Not looked at:") + f" {plain(note)}."]
        return lines

    def _spec_node(self, node: Node) -> str:
        return f"{node.label} ({node.kind} {node.name!r})"

    def _spec_edge(self, edge: Edge) -> str:
        ends = f"edge {self.spec.node(edge.source).label} -> {self.spec.node(edge.target).label}"
        return ends + (f" ({edge.label})" if edge.label else "")

    def image(self, path: Path | None = None):
        """The target diagram with what is missing (and the edges to it) dashed grey and what is
        extra dashed red; shown in a notebook, written to the course's state folder (or `path`)."""
        from IPython.display import Image

        path = path or config.state_dir() / "diagrams" / f"compare-lab{self.lab}.png"
        missing_ids = {n.id for n in self.missing_nodes}
        targets = tuple(
            replace(n, label=f"{n.label} (not deployed)") if n.id in missing_ids else n for n in self.spec.nodes
        )
        grey_edges = [
            e for e in self.spec.edges if e in self.missing_edges or e.source in missing_ids or e.target in missing_ids
        ]
        extras = tuple(replace(n, group=EXTRA_GROUP.id) for n in self.extra_nodes)
        # Extra edges are drawn between spec nodes where they were matched, else between extras;
        # one that ends at a live node in neither (another lab's) is left out.
        spec_id_of = {live_id: spec_id for spec_id, live_id in self.matched.items()}
        drawn_ids = {n.id for n in targets + extras}
        red_edges = tuple(
            edge
            for edge in (
                Edge(spec_id_of.get(e.source, e.source), spec_id_of.get(e.target, e.target), e.label)
                for e in self.extra_edges
            )
            if edge.source in drawn_ids and edge.target in drawn_ids
        )
        graph = Graph(
            title=f"{self.spec.title}: what is deployed",
            direction=self.spec.direction,
            groups=self.spec.groups + ((EXTRA_GROUP,) if extras else ()),
            nodes=targets + extras,
            edges=self.spec.edges + red_edges,
        )
        render(
            graph,
            path,
            node_styles={**{node_id: MISSING_STYLE for node_id in missing_ids}, **{n.id: EXTRA_STYLE for n in extras}},
            edge_styles={
                **{e.ends: MISSING_EDGE_STYLE for e in grey_edges},
                **{e.ends: EXTRA_EDGE_STYLE for e in red_edges},
            },
        )
        return Image(filename=str(path))


def compare_graphs(lab: str, spec: Graph, live: Graph, prefix: str = "") -> Comparison:
    """Compare a lab's spec with the live graph of everything deployed (deployed.collect()).
    `prefix` is what the target puts before each name (a shared AWS account's per-learner prefix)."""
    live_ids = {node.id for node in live.nodes}
    matched, missing_nodes, unchecked_nodes = {}, [], []
    for node in spec.nodes:
        if node.name is None or node.kind not in CHECKED_KINDS:
            unchecked_nodes.append(node)
        elif deployed.live_id(node.kind, prefix + node.name) in live_ids:
            matched[node.id] = deployed.live_id(node.kind, prefix + node.name)
        else:
            missing_nodes.append(node)

    live_edges = {edge.ends for edge in live.edges}
    unchecked_ids = {node.id for node in unchecked_nodes}
    expected_edges, missing_edges, unchecked_edges = set(), [], []
    for edge in spec.edges:
        if edge.source in unchecked_ids or edge.target in unchecked_ids:
            continue  # unchecked with its node, which the report names
        if (spec.node(edge.source).kind, spec.node(edge.target).kind) not in CHECKED_EDGES:
            unchecked_edges.append(edge)
        elif edge.source in matched and edge.target in matched:
            ends = (matched[edge.source], matched[edge.target])
            expected_edges.add(ends)
            if ends not in live_edges:
                missing_edges.append(edge)
        # An edge to a missing node is missing with it: the node says so already.

    def in_lab(node: Node) -> bool:
        return deployed.wanted(node.tags, lab, course_only=True) and node.name.startswith(prefix)

    lab_ids = {node.id for node in live.nodes if in_lab(node)}
    return Comparison(
        lab=lab,
        spec=spec,
        matched=matched,
        notes=live.notes,
        missing_nodes=tuple(missing_nodes),
        missing_edges=tuple(missing_edges),
        extra_nodes=tuple(n for n in live.nodes if n.id in lab_ids and n.id not in matched.values()),
        extra_edges=tuple(
            e for e in live.edges if (e.source in lab_ids or e.target in lab_ids) and e.ends not in expected_edges
        ),
        unchecked_nodes=tuple(unchecked_nodes),
        unchecked_edges=tuple(unchecked_edges),
    )


def _live_node(node: Node) -> str:
    return f"{node.kind} {node.name!r}"


def _live_edge(edge: Edge) -> str:
    return f"edge {edge.source} -> {edge.target}" + (f" ({edge.label})" if edge.label else "")
