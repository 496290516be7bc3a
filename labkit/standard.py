"""The notebook standard (AUTHORING.md, "The standard"): the parts every lesson and lab has, in order, as
`labkit lint-notebooks` and tests/test_notebook_standard.py recognise them.

    from labkit import standard
    standard.problems("solutions/01_run_and_export_the_bookshop.ipynb")   # [] when it meets the standard

A lesson is a notebook in notebooks/; a lab is one in solutions/ or labs/. Each problem is one line naming
the notebook and the part: "solutions/01_x.ipynb: no '## Recap' section".
"""

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from labkit import config

LESSON, LAB = "lesson", "lab"

OBJECTIVES = "## Objectives"
PREREQUISITES = "## Prerequisites"
MAP = "## The migration so far"
KNOWLEDGE_CHECK = "## Knowledge check"
WHY = "## Why, and when not"
RECAP = "## Recap"
STRETCH = "## Stretch"
FIDELITY = "## Local vs real AWS"
CLEANUP = "## Clean up"

STEP = re.compile(r"^## Step (\d+) · \S")
STEP_LIKE = re.compile(r"^## Step\b")
TIME = re.compile(r"\*\*Time:\*\*[^\n]*?\d+ minutes")
COST = re.compile(r"\*\*Cost on the aws target:\*\*[^\n]*per hour")
PREDICT = "**Predict**"
MAP_CALLS = ("diagrams.target(", "progress.course_map(")
QUIZ_CALL = "quiz.ask("
CLEANUP_TAG = "cleanup"

# A saved output must not hold a path that exists only on the machine that ran it.
TEMPORARY_PATHS = [
    (re.compile(r"/tmp/\S*"), "a temporary path"),
    (re.compile(r"/var/folders/\S*"), "a temporary path"),
    (re.compile(r"(?<![\w.])/(?:[^\s'\"/]+/)*\.labkit\b\S*"), "an absolute path into the state folder"),
]


@dataclass
class Section:
    heading: str  # the heading line, "## Recap"
    cells: list  # its cells, the heading's own first, up to the next "## " heading


def kind_of(path: Path) -> str:
    return LESSON if path.parent.name == "notebooks" else LAB


def shown(path: Path) -> str:
    path = Path(path).resolve()
    try:
        return str(path.relative_to(config.COURSE_ROOT))
    except ValueError:
        return str(path)


def problems(path: str | Path, kind: str | None = None) -> list[str]:
    """What the notebook at `path` lacks of the standard, one line each; [] when it has every part."""
    path = Path(path)
    notebook = nbformat.read(path, as_version=4)
    name = shown(path)
    return [f"{name}: {problem}" for problem in _structure(notebook, kind or kind_of(path)) + saved_paths(notebook)]


def path_problems(path: str | Path) -> list[str]:
    """Only the rule every notebook meets, standard or not yet: no machine-specific paths in saved outputs."""
    return [f"{shown(path)}: {problem}" for problem in saved_paths(nbformat.read(path, as_version=4))]


def saved_paths(notebook) -> list[str]:
    """Saved outputs holding a temporary path or an absolute path into the state folder."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for text in _output_texts(cell):
            for pattern, what in TEMPORARY_PATHS:
                match = pattern.search(text)
                if match:
                    found.append(
                        f"cell {index}'s saved output holds {what} ({match.group(0)!r}): re-execute the notebook "
                        "with the state folder in the course folder (AUTHORING.md, 'Re-executing a notebook')"
                    )
                    break
    return found


def _output_texts(cell) -> list[str]:
    texts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append(output.get("text", ""))
        elif output.get("output_type") == "error":
            texts.append("\n".join(output.get("traceback", [])))
        else:
            texts += [value for mime, value in output.get("data", {}).items() if mime.startswith("text/")]
    return [text if isinstance(text, str) else "".join(text) for text in texts]


def sections(notebook) -> list[Section]:
    found = []
    for cell in notebook.cells:
        heading = _level2_heading(cell)
        if heading:
            found.append(Section(heading, [cell]))
        elif found:
            found[-1].cells.append(cell)
    return found


def _level2_heading(cell) -> str | None:
    headings = _headings(cell)
    return headings[0][1] if headings else None


def _headings(cell) -> list[tuple[int, str]]:
    """The level-2 headings of a markdown cell, with their line numbers, outside code blocks."""
    if cell.cell_type != "markdown":
        return []
    found, fenced = [], False
    for number, line in enumerate(cell.source.splitlines()):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            found.append((number, line.strip()))
    return found


def _headings_first(cells) -> list[str]:
    """A '## ' heading starts its own markdown cell, so that a section is a run of whole cells."""
    found = []
    for index, cell in enumerate(cells):
        for number, heading in _headings(cell):
            if number > 0:
                found.append(f"'{heading}' (cell {index}) is not the first line of its markdown cell: split the cell")
    return found


def _structure(notebook, kind: str) -> list[str]:
    found = []
    cells = notebook.cells
    if not cells or cells[0].cell_type != "markdown" or not cells[0].source.startswith("# "):
        found.append("no title: the first cell must be markdown starting with '# '")
    parts = sections(notebook)
    by_heading = {section.heading: section for section in parts}
    required = [OBJECTIVES, PREREQUISITES, MAP, KNOWLEDGE_CHECK, WHY, RECAP, STRETCH]
    if kind == LAB:
        required += [FIDELITY, CLEANUP]
    for heading in required:
        if heading not in by_heading:
            found.append(f"no '{heading}' section")

    objectives = by_heading.get(OBJECTIVES)
    if objectives and "By the end you can" not in _text(objectives):
        found.append(f"'{OBJECTIVES}' does not say 'By the end you can ...'")

    steps = [section for section in parts if STEP.match(section.heading)]
    first_step = next((i for i, cell in enumerate(cells) if steps and cell is steps[0].cells[0]), len(cells))
    introduction = "\n".join(cell.source for cell in cells[:first_step] if cell.cell_type == "markdown")
    if not TIME.search(introduction):
        found.append("no '**Time:** N minutes' before the first step")
    if kind == LAB and not COST.search(introduction):
        found.append("no '**Cost on the aws target:** ... per hour' before the first step")

    if MAP in by_heading and not _calls(by_heading[MAP], MAP_CALLS):
        found.append(f"'{MAP}' has no cell drawing the map ({' or '.join(call + '...)' for call in MAP_CALLS)})")

    found += _steps(parts, steps, kind)
    found += _predictions(cells)

    quiz = by_heading.get(KNOWLEDGE_CHECK)
    if quiz and not _calls(quiz, (QUIZ_CALL,)):
        found.append(f"'{KNOWLEDGE_CHECK}' has no cell asking its questions (quiz.ask(...))")
    cleanup = by_heading.get(CLEANUP)
    if kind == LAB and cleanup and not any(_tagged(cell, CLEANUP_TAG) for cell in cleanup.cells):
        found.append(f"'{CLEANUP}' has no code cell tagged '{CLEANUP_TAG}'")
    found += _order(parts)
    found += _headings_first(cells)
    return found


def _steps(parts: list[Section], steps: list[Section], kind: str) -> list[str]:
    found = []
    for section in parts:
        if STEP_LIKE.match(section.heading) and not STEP.match(section.heading):
            found.append(f"'{section.heading}' is not in the form '## Step N · what it achieves'")
    if not steps:
        return found + ["no steps ('## Step 1 · ...')"]
    numbers = [int(STEP.match(section.heading).group(1)) for section in steps]
    if numbers != list(range(1, len(steps) + 1)):
        found.append(f"the steps are numbered {numbers}, expected 1 to {len(steps)} in order")
    if kind == LAB:
        for number, section in zip(numbers, steps, strict=True):
            code = [cell for cell in section.cells if cell.cell_type == "code"]
            if not code or not re.search(rf"\blab\.panel\({number}\b", code[-1].source):
                found.append(f"'{section.heading}' does not end with its check cell, lab.panel({number})")
    return found


def _predictions(cells) -> list[str]:
    prompts = [i for i, cell in enumerate(cells) if cell.cell_type == "markdown" and cell.source.startswith(PREDICT)]
    if not prompts:
        return [f"no predict-then-run prompt (a markdown cell starting with '{PREDICT}' before the cell it asks about)"]
    return [
        f"the '{PREDICT}' prompt in cell {i} is not followed by a code cell"
        for i in prompts
        if i + 1 >= len(cells) or cells[i + 1].cell_type != "code"
    ]


def _order(parts: list[Section]) -> list[str]:
    """The recognised headings present must come in the standard's order."""
    order = [OBJECTIVES, PREREQUISITES, MAP, "## Step", KNOWLEDGE_CHECK, WHY, RECAP, STRETCH, FIDELITY, CLEANUP]
    seen = []
    for section in parts:
        key = "## Step" if STEP.match(section.heading) else section.heading
        if key in order and (not seen or seen[-1] != key):
            seen.append(key)
    for earlier, later in zip(seen, seen[1:], strict=False):
        if order.index(later) <= order.index(earlier):
            return [
                f"'{later}' comes after '{earlier}'; the standard's order is "
                + ", ".join(f"'{heading}'" for heading in order)
            ]
    return []


def _text(section: Section) -> str:
    return "\n".join(cell.source for cell in section.cells if cell.cell_type == "markdown")


def _calls(section: Section, calls: tuple[str, ...]) -> bool:
    return any(cell.cell_type == "code" and any(call in cell.source for call in calls) for cell in section.cells)


def _tagged(cell, tag: str) -> bool:
    return cell.cell_type == "code" and tag in cell.metadata.get("tags", [])


def course_notebooks() -> list[Path]:
    """Every notebook of the course: lessons, solutions and the labs generated from them."""
    return sorted(
        path for folder in ("notebooks", "solutions", "labs") for path in (config.COURSE_ROOT / folder).glob("*.ipynb")
    )
