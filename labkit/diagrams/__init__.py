"""Architecture diagrams of the labs: the target each lab builds, what is deployed, and the difference.

    from labkit import diagrams
    diagrams.target("02")            # lab 02's target architecture (the committed diagrams/02_*.png)
    diagrams.live(lab="02")          # what is deployed for lab 02, drawn from describe/list calls
    diagrams.compare("02")           # what is missing and what is extra, as a report
    diagrams.compare("02").image()   # the same drawn: missing dashed grey, extra dashed red

Target diagrams are drawn from the specs in diagrams/ (see labkit.diagrams.spec) by
`python -m labkit.diagrams render-all` (`make diagrams`). Live and comparison drawings are written to
the course's state folder (.labkit/diagrams/), never next to a notebook. Live drawings read the
target with boto3 only, so they work on a real AWS account as on the local cloud.
"""

from labkit import config
from labkit.diagrams.comparison import Comparison, compare_graphs
from labkit.diagrams.deployed import collect, introspect
from labkit.diagrams.drawing import render
from labkit.diagrams.spec import lab_key, load, spec_path
from labkit.diagrams.targets import png_of, render_all, stale
from labkit.errors import LabkitError

__all__ = ["target", "live", "compare", "Comparison", "render_all", "stale"]


def target(lab_id: str | int):
    """Lab `lab_id`'s target architecture, the committed PNG, as an image a notebook shows."""
    from IPython.display import Image

    png = png_of(spec_path(lab_id))
    if not png.exists():
        raise LabkitError(f"lab {lab_key(lab_id)}'s target diagram has not been drawn yet: run `make diagrams`.")
    return Image(filename=str(png))


def live(lab: str | int | None = None, course_only: bool = True):
    """Draw what is deployed on the target now: one lab's resources (tagged labkit:lab), all the
    course's (the default), or with course_only=False everything found. Prints what could not be
    looked at; returns the image."""
    from IPython.display import Image

    lab = lab_key(lab) if lab is not None else None
    graph = introspect(lab, course_only)
    name = f"lab{lab}" if lab else "course" if course_only else "all"
    path = render(graph, config.state_dir() / "diagrams" / f"live-{name}.png")
    for note in graph.notes:
        print(f"not shown: {note}")
    return Image(filename=str(path))


def compare(lab_id: str | int, prefix: str = "") -> Comparison:
    """Compare lab `lab_id`'s target with what is deployed. Pass `prefix=env.prefix` where the
    course prefixes names (a shared AWS account); locally it is empty."""
    lab = lab_key(lab_id)
    return compare_graphs(lab, load(spec_path(lab)), collect(), prefix)
