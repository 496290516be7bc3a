"""The notebook standard (AUTHORING.md, "The standard"), checked by labkit.standard: the notebooks brought to
it meet it, no notebook escapes the linter, the linter names the notebook and the part it misses, and no
notebook's saved outputs hold a path that exists only on the machine that ran it."""

import subprocess
import sys

import nbformat
import pytest

from labkit import config, standard

pytestmark = pytest.mark.no_cloud

MEETS_THE_STANDARD = [
    "notebooks/00_start_here.ipynb",
    "notebooks/01_the_monolith.ipynb",
    "solutions/01_run_and_export_the_bookshop.ipynb",
    "labs/01_run_and_export_the_bookshop.ipynb",
    "solutions/02_the_catalog_service.ipynb",
    "labs/02_the_catalog_service.ipynb",
    "solutions/03_orders_on_ecs.ipynb",
    "labs/03_orders_on_ecs.ipynb",
    "solutions/04_order_events.ipynb",
    "labs/04_order_events.ipynb",
    "solutions/05_identity.ipynb",
    "labs/05_identity.ipynb",
    "solutions/06_secrets_and_least_privilege.ipynb",
    "labs/06_secrets_and_least_privilege.ipynb",
    "solutions/07_service_to_service.ipynb",
    "labs/07_service_to_service.ipynb",
    "solutions/08_observability.ipynb",
    "labs/08_observability.ipynb",
    "solutions/09_delivery.ipynb",
    "labs/09_delivery.ipynb",
    "solutions/10_scale_and_cache.ipynb",
    "labs/10_scale_and_cache.ipynb",
]


def in_course(name):
    return config.COURSE_ROOT / name


def test_every_notebook_of_the_course_is_checked():
    found = {standard.shown(path) for path in standard.course_notebooks()}
    assert found - set(MEETS_THE_STANDARD) == set(), "add it to MEETS_THE_STANDARD"
    assert set(MEETS_THE_STANDARD) <= found, "a listed notebook no longer exists"


@pytest.mark.parametrize("name", MEETS_THE_STANDARD)
def test_the_notebook_meets_the_standard(name):
    assert standard.problems(in_course(name)) == []


@pytest.mark.parametrize("name", MEETS_THE_STANDARD)
def test_no_saved_output_holds_a_temporary_path_or_the_state_folder(name):
    assert standard.path_problems(in_course(name)) == []


def md(text):
    return nbformat.v4.new_markdown_cell(text)


def code(text, tags=()):
    cell = nbformat.v4.new_code_cell(text)
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def a_lab():
    """The smallest lab that meets the standard."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        md("# Lab 09 · Delivery\n\n**Time:** 40 minutes. **Cost on the aws target:** under $0.01 per hour."),
        md("## Objectives\n\nBy the end you can ship a canary."),
        md("## Prerequisites\n\nLab 03."),
        md("## The migration so far"),
        code('diagrams.target("09")'),
        md("## Step 1 · A pipeline"),
        md("**Predict**: how many stages?"),
        code("make_pipeline()"),
        code("lab.panel(1)"),
        md("## Step 2 · A canary"),
        code("make_canary()"),
        code("lab.panel(2)"),
        md("## Knowledge check"),
        code("quiz.ask(QUESTIONS)"),
        md("## Why, and when not\n\nA canary needs traffic."),
        md("## Recap\n\n- pipelines"),
        md("## Stretch\n\nAdd a manual approval."),
        md("## Local vs real AWS\n\nSimulated."),
        md("## Clean up"),
        code('teardown(lab="09")', tags=["cleanup"]),
    ]
    return notebook


def lint(tmp_path, notebook, folder="solutions"):
    path = tmp_path / folder / "09_delivery.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return [problem.removeprefix(f"{path}: ") for problem in standard.problems(path)]


def without(notebook, heading):
    """The notebook without the section under `heading`."""
    section = next(s for s in standard.sections(notebook) if s.heading == heading)
    notebook.cells = [cell for cell in notebook.cells if all(cell is not gone for gone in section.cells)]
    return notebook


def test_the_smallest_lab_meets_the_standard(tmp_path):
    assert lint(tmp_path, a_lab()) == []


def test_a_missing_part_is_named_with_the_notebook(tmp_path):
    notebook = without(a_lab(), "## Recap")
    path = tmp_path / "solutions" / "09_delivery.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, path)
    assert standard.problems(path) == [f"{path}: no '## Recap' section"]


@pytest.mark.parametrize(
    "heading", ["## Objectives", "## Prerequisites", "## Knowledge check", "## Why, and when not", "## Stretch"]
)
def test_each_part_is_required(tmp_path, heading):
    assert lint(tmp_path, without(a_lab(), heading)) == [f"no '{heading}' section"]


def test_a_lesson_needs_no_fidelity_note_nor_cost_but_a_lab_does(tmp_path):
    lesson = without(without(a_lab(), "## Local vs real AWS"), "## Clean up")
    lesson.cells[0].source = "# 05 · Identity\n\n**Time:** 20 minutes."
    lesson.cells = [cell for cell in lesson.cells if "lab.panel" not in cell.source]
    assert lint(tmp_path, lesson, folder="notebooks") == []
    assert lint(tmp_path, lesson, folder="solutions") == [
        "no '## Local vs real AWS' section",
        "no '## Clean up' section",
        "no '**Cost on the aws target:** ... per hour' before the first step",
        "'## Step 1 · A pipeline' does not end with its check cell, lab.panel(1)",
        "'## Step 2 · A canary' does not end with its check cell, lab.panel(2)",
    ]


def test_a_step_must_end_with_its_own_check_cell(tmp_path):
    notebook = a_lab()
    notebook.cells[11].source = "lab.panel(1)"
    assert lint(tmp_path, notebook) == ["'## Step 2 · A canary' does not end with its check cell, lab.panel(2)"]


def test_steps_are_numbered_in_order_and_headed_with_a_middle_dot(tmp_path):
    notebook = a_lab()
    notebook.cells[9].source = "## Step 3 - A canary"
    assert lint(tmp_path, notebook) == ["'## Step 3 - A canary' is not in the form '## Step N · what it achieves'"]
    notebook.cells[9].source = "## Step 3 · A canary"
    assert lint(tmp_path, notebook) == [
        "the steps are numbered [1, 3], expected 1 to 2 in order",
        "'## Step 3 · A canary' does not end with its check cell, lab.panel(3)",
    ]


def test_a_prediction_is_followed_by_the_cell_it_asks_about(tmp_path):
    notebook = a_lab()
    notebook.cells.insert(7, md("Some words in between."))
    assert lint(tmp_path, notebook) == ["the '**Predict**' prompt in cell 6 is not followed by a code cell"]


def test_a_knowledge_check_asks_with_the_quiz_and_cleanup_is_tagged(tmp_path):
    notebook = a_lab()
    notebook.cells[13].source = "print('a quiz')"
    notebook.cells[19].metadata["tags"] = []
    assert lint(tmp_path, notebook) == [
        "'## Knowledge check' has no cell asking its questions (quiz.ask(...))",
        "'## Clean up' has no code cell tagged 'cleanup'",
    ]


def test_parts_out_of_order_are_reported(tmp_path):
    notebook = a_lab()
    recap = notebook.cells.pop(15)
    notebook.cells.insert(12, recap)
    assert lint(tmp_path, notebook)[0].startswith("'## Knowledge check' comes after '## Recap'; the standard's order")


def test_a_heading_starts_its_own_cell(tmp_path):
    notebook = a_lab()
    notebook.cells[14].source = "Some closing words.\n\n" + notebook.cells[14].source
    found = lint(tmp_path, notebook)
    assert "'## Why, and when not' (cell 14) is not the first line of its markdown cell: split the cell" in found


@pytest.mark.parametrize(
    "text, found",
    [
        ("Writing /tmp/relabs/work/02/handler.py\n", "a temporary path ('/tmp/relabs/work/02/handler.py')"),
        (
            "see /home/ada/course/.labkit/logs/x.log\n",
            "an absolute path into the state folder ('/home/ada/course/.labkit/logs/x.log')",
        ),
    ],
)
def test_a_saved_output_with_a_machine_specific_path_is_reported(tmp_path, text, found):
    notebook = a_lab()
    notebook.cells[7].outputs = [nbformat.v4.new_output("stream", text=text)]
    assert lint(tmp_path, notebook) == [
        f"cell 7's saved output holds {found}: re-execute the notebook with the state folder in the course "
        "folder (AUTHORING.md, 'Re-executing a notebook')"
    ]


def test_a_path_relative_to_the_notebook_is_allowed(tmp_path):
    notebook = a_lab()
    notebook.cells[7].outputs = [nbformat.v4.new_output("stream", text="Writing ../.labkit/work/02/handler.py\n")]
    assert lint(tmp_path, notebook) == []


def test_labkit_lint_notebooks_prints_the_problems_and_fails(tmp_path):
    path = tmp_path / "solutions" / "09_delivery.ipynb"
    path.parent.mkdir()
    nbformat.write(without(a_lab(), "## Stretch"), path)
    failing = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "lint-notebooks", str(path)], capture_output=True, text=True, timeout=60
    )
    assert (failing.returncode, failing.stdout) == (1, f"{path}: no '## Stretch' section\n")
    nbformat.write(a_lab(), path)
    passing = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "lint-notebooks", str(path)], capture_output=True, text=True, timeout=60
    )
    assert (passing.returncode, passing.stdout) == (0, "1 notebooks meet the standard\n")
