"""Run a lab's solution up to its cleanup cell, on a target, then its checks: what it leaves is deployed.

`labkit fast-forward` runs earlier labs' solutions this way on the local cloud; the aws-target workflow
(.github/workflows/aws-target.yml) runs one lab on a real account:

    python -m labkit.solutionrun 02 --target aws

The solution's parameters cell (`TARGET = "local"`) is set to the target; nothing else of it changes.
"""

import argparse
import sys
import time
from pathlib import Path

from labkit import config, course, labs
from labkit.errors import LabkitError

CELL_TIMEOUT_S = 300


def solution(lab_id: str) -> Path | None:
    found = sorted((config.COURSE_ROOT / "solutions").glob(f"{lab_id}_*.ipynb"))
    return found[0] if found else None


def run_solution(lab_id: str, target: str = "local") -> str:
    """A line saying what ran and how many checks pass; a LabkitError when a cell or a check fails."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    lab_id = lab_id.zfill(2)
    path = solution(lab_id)
    if path is None:
        raise LabkitError(f"lab {lab_id} has no solution (solutions/{lab_id}_*.ipynb)")
    course.start(target=target, quiet=True)  # where the checks look; the aws guard rails apply here first
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = f'TARGET = "{target}"'
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(path.parent)}})
    started = time.monotonic()
    ran = 0
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code" and "cleanup" not in cell.metadata.get("tags", []):
                try:
                    client.execute_cell(cell, index)
                except CellExecutionError as error:
                    last_line = str(error).strip().splitlines()[-1]
                    raise LabkitError(f"lab {lab_id}: its solution's cell {index} failed: {last_line}") from error
                ran += 1
    results = labs.require(lab_id).run(in_terminal=True)
    passed = sum(result.passed for result in results)
    seconds = time.monotonic() - started
    line = (
        f"lab {lab_id}: deployed from solutions/{path.name} ({ran} cells, {seconds:.0f} s); "
        f"{passed}/{len(results)} checks pass"
    )
    if passed < len(results):
        failing = next(result for result in results if not result.passed)
        raise LabkitError(f"{line}, not all: {failing.title}: {failing.message}")
    return line


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.solutionrun", description=__doc__.splitlines()[0])
    parser.add_argument("lab", help="the lab's number, e.g. 02")
    parser.add_argument("--target", choices=("local", "aws"), default="local")
    args = parser.parse_args(argv)
    try:
        print(run_solution(args.lab, args.target))
    except LabkitError as error:
        print(f"solution run: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
