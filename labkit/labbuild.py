"""labs/ is generated from solutions/: solution blocks become TODOs, outputs are stripped.

A solution block is marked as nbgrader marks it:

    ### BEGIN SOLUTION
    ...the answer...
    ### END SOLUTION

and becomes `raise NotImplementedError("TODO: step N ...")` at the marker's indentation, N being the
step whose heading ("## Step N ...") comes before the cell. `--check` fails when labs/ is stale.
"""

import re
from pathlib import Path

import nbformat

from labkit import config
from labkit.errors import LabkitError

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STEP_HEADING = re.compile(r"^#{1,3}\s*Step\s+(\d+)", re.MULTILINE)


def solutions_dir() -> Path:
    return config.COURSE_ROOT / "solutions"


def labs_dir() -> Path:
    return config.COURSE_ROOT / "labs"


def lab_text(solution_path: Path) -> str:
    """The learner's version of one solution notebook, as the exact text written to labs/."""
    notebook = nbformat.read(solution_path, as_version=4)
    step = None
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            headings = STEP_HEADING.findall(cell.source)
            if headings:
                step = headings[-1]
            continue
        if cell.cell_type != "code":
            continue
        cell.source = _replace_solutions(cell.source, step, solution_path.name)
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
    notebook.metadata.pop("widgets", None)
    return nbformat.writes(notebook) + "\n"


def _replace_solutions(source: str, step: str | None, notebook_name: str) -> str:
    lines = source.split("\n")
    out = []
    inside = False
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise LabkitError(
                    f"{notebook_name}: '{BEGIN}' inside another solution block (line {number} of a cell)."
                )
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            where = f"step {step}" if step else "this cell"
            out.append(
                f'{indent}raise NotImplementedError("TODO: {where} is yours to write; '
                f'the instructions above say what it should do")'
            )
        elif stripped == END:
            if not inside:
                raise LabkitError(f"{notebook_name}: '{END}' without a '{BEGIN}' before it.")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise LabkitError(f"{notebook_name}: a '{BEGIN}' has no '{END}'.")
    return "\n".join(out)


def build(check: bool = False) -> list[str]:
    """Write labs/ (or, with check, only compare). Returns the problems found (for check) or the
    notebooks written."""
    solutions = sorted(solutions_dir().glob("*.ipynb"))
    expected = {path.name: lab_text(path) for path in solutions}
    changed = []
    for name, text in expected.items():
        target = labs_dir() / name
        if not target.exists() or target.read_text() != text:
            changed.append(name)
            if not check:
                target.parent.mkdir(exist_ok=True)
                target.write_text(text)
    orphans = sorted(p.name for p in labs_dir().glob("*.ipynb") if p.name not in expected)
    if check:
        return [f"labs/{name} is stale (solutions/{name} changed)" for name in changed] + [
            f"labs/{name} has no solutions/{name}: remove it" for name in orphans
        ]
    for name in orphans:
        (labs_dir() / name).unlink()
    return changed + [f"removed {name}" for name in orphans]
