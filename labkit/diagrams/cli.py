"""`python -m labkit.diagrams render-all | check` (behind `make diagrams` and `labkit diagrams`)."""

import argparse
import sys

from labkit.diagrams import targets
from labkit.diagrams.spec import display_path
from labkit.errors import LabkitError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m labkit.diagrams", description="The labs' target architecture diagrams."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("render-all", help="draw every diagrams/NN_topic.png from its .toml spec")
    commands.add_parser("check", help="fail when a committed diagram does not show its spec")
    args = parser.parse_args(argv)
    try:
        if args.command == "render-all":
            for path in targets.render_all():
                print(f"drew {display_path(path)}")
            return 0
        problems = targets.stale()
        for problem in problems:
            print(problem, file=sys.stderr)
        if not problems:
            print("every target diagram shows its spec")
        return 1 if problems else 0
    except LabkitError as error:
        print(f"labkit diagrams: {error}", file=sys.stderr)
        return 1
