"""Teardown: delete what the course tagged (labkit:course, optionally one labkit:lab) on a target,
in dependency order, and report what is left.

    labkit teardown [--target local|aws] [--lab NN] [--yes]      (run_cli)
    from labkit.teardown import teardown; teardown(lab="02")     (a notebook's cleanup cell)

Untagged resources are never touched. It finds resources through labkit.inventory; the kinds it
deletes, and their order, are in order.py; each service's own module says how to delete them.
"""

from labkit.teardown.run import Entry, Report, run_cli, tagged, teardown

__all__ = ["Entry", "Report", "run_cli", "tagged", "teardown"]
