"""Draw a Graph as a PNG with `diagrams`: stable node names, no stray files, the graph kept inside.

Node and cluster names in the Graphviz source come from the graph's ids (not `diagrams`' random
uuids), so the same graph always gives the same Graphviz source and the same PNG bytes. The PNG carries
the graph it was drawn from (Graph.drawn) in a tEXt chunk: `drawn_from(png)` reads it back.
"""

import json
import tempfile
import textwrap
from pathlib import Path

from labkit.diagrams import pngtext
from labkit.diagrams.graph import Graph
from labkit.diagrams.kinds import icon_class
from labkit.errors import LabkitError
from labkit.files import write_atomically

GRAPH_KEYWORD = "labkit-graph"
# diagrams' default pad (2 inches of white around the picture) wastes a notebook's width.
GRAPH_ATTRS = {"pad": "0.6", "splines": "spline"}
# A node is 1.4 inches wide whatever its label: a longer line spills over its neighbours.
LABEL_WIDTH = 18

Style = dict[str, str]


def render(
    graph: Graph,
    path: Path,
    node_styles: dict[str, Style] | None = None,
    edge_styles: dict[tuple[str, str], Style] | None = None,
) -> Path:
    """Write `graph` as a PNG to `path`; the styles (Graphviz attributes by node id, or by an edge's
    (source, target)) change how single nodes and edges look."""
    from graphviz.backend.execute import ExecutableNotFound

    from diagrams import Cluster, Diagram
    from diagrams import Edge as Arrow

    node_styles, edge_styles = node_styles or {}, edge_styles or {}
    drawn = {}

    def draw_members_of(group_id: str | None) -> None:
        for node in graph.nodes:
            if node.group == group_id:
                lines = textwrap.wrap(node.label, LABEL_WIDTH, break_on_hyphens=False)
                label = "\n".join(lines) or node.label
                drawn[node.id] = icon_class(node.kind)(
                    label, nodeid=graphviz_name(node.id), **node_styles.get(node.id, {})
                )
        for group in graph.groups:
            if group.parent == group_id:
                with Cluster(group.label) as cluster:
                    # diagrams names a cluster after its label; two boxes labelled alike would merge.
                    cluster.dot.name = "cluster_" + graphviz_name(group.id)
                    draw_members_of(group.id)

    # diagrams writes its Graphviz source and image next to `filename`: keep both out of sight.
    with tempfile.TemporaryDirectory(prefix="labkit-diagram-") as scratch:
        base = Path(scratch) / "diagram"
        try:
            with Diagram(
                graph.title,
                filename=str(base),
                show=False,
                outformat="png",
                direction=graph.direction,
                graph_attr=GRAPH_ATTRS,
            ):
                draw_members_of(None)
                for edge in graph.edges:
                    arrow = Arrow(forward=True, label=edge.label, **edge_styles.get(edge.ends, {}))
                    drawn[edge.source].connect(drawn[edge.target], arrow)
        except ExecutableNotFound:
            raise LabkitError(
                "Graphviz's `dot` program is missing, so no diagram can be drawn. "
                "`make bootstrap` installs it (Debian/Ubuntu: apt-get install "
                "graphviz)."
            ) from None
        png = base.with_suffix(".png").read_bytes()
    write_atomically(path, pngtext.with_text(png, GRAPH_KEYWORD, graph.drawn_json()))
    return path


def drawn_from(path: Path) -> dict | None:
    """The graph (Graph.drawn) a PNG rendered here was drawn from; None for any other image."""
    text = pngtext.read_text(path.read_bytes(), GRAPH_KEYWORD)
    return None if text is None else json.loads(text)


def graphviz_name(item_id: str) -> str:
    """A Graphviz-safe name for an id, one to one: letters and digits stay, every other byte becomes
    _XX. (Graphviz reads "a:b" in an edge as node a, port b, and live ids look like "sqs:orders".)"""
    return "".join(
        chr(byte) if chr(byte).isalnum() and byte < 128 else f"_{byte:02X}" for byte in item_id.encode("utf-8")
    )
