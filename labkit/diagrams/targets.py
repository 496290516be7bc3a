"""The committed target diagrams: each diagrams/NN_topic.png is drawn from diagrams/NN_topic.toml.

A PNG carries the graph it was drawn from, so `stale()` compares graphs, not bytes: a spec changed
without `make diagrams` is caught, while a different Graphviz build drawing other pixels is not.
"""

from pathlib import Path

from labkit.diagrams.drawing import drawn_from, render
from labkit.diagrams.spec import SPEC_DIR, display_path, load


def png_of(spec: Path) -> Path:
    return spec.with_suffix(".png")


def render_all(directory: Path = SPEC_DIR) -> list[Path]:
    """Draw every spec's PNG; every spec is checked before any PNG is written."""
    specs = [(path, load(path)) for path in sorted(directory.glob("*.toml"))]
    return [render(graph, png_of(path)) for path, graph in specs]


def stale(directory: Path = SPEC_DIR) -> list[str]:
    """One line for each target diagram that does not show its spec; empty when all are current."""
    fix = "run `make diagrams`"
    problems = []
    for spec in sorted(directory.glob("*.toml")):
        png = png_of(spec)
        if not png.exists():
            problems.append(f"{display_path(png)} is missing: {fix}")
            continue
        drawn = drawn_from(png)
        if drawn is None:
            problems.append(f"{display_path(png)} was not drawn from {spec.name} (it carries no graph): {fix}")
            continue
        wanted = load(spec).drawn()
        if drawn != wanted:
            differing = ", ".join(key for key in sorted(wanted) if drawn.get(key) != wanted[key])
            problems.append(
                f"{display_path(png)} was drawn from an older {spec.name} ({differing} changed since): {fix}"
            )
    for png in sorted(directory.glob("*.png")):
        if not png.with_suffix(".toml").exists():
            problems.append(f"{display_path(png)} has no spec {png.stem}.toml: add one or delete it")
    return problems
