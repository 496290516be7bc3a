"""The files the solution notebooks' `%%writefile` cells write: a lab's handler has that one source, and
the tests that deploy it read it from there."""

import functools

import nbformat

from labkit import labbuild


def written_file(notebook_name: str, file_variable: str, version: int = 0) -> str:
    """The file the version-th `%%writefile {file_variable}` cell of solutions/notebook_name writes, as the
    solution runs it: without the solution markers."""
    magic = f"%%writefile {{{file_variable}}}"
    cells = [
        cell.source
        for cell in _solution(notebook_name).cells
        if cell.cell_type == "code" and cell.source.startswith(magic)
    ]
    body = cells[version].split("\n", 1)[1]
    markers = (labbuild.BEGIN, labbuild.END)
    return "\n".join(line for line in body.splitlines() if line.strip() not in markers) + "\n"


def code_cell(notebook_name: str, containing: str) -> str:
    """The source of the one code cell of solutions/notebook_name that contains this text."""
    cells = [c.source for c in _solution(notebook_name).cells if c.cell_type == "code" and containing in c.source]
    assert len(cells) == 1, f"{len(cells)} code cells of {notebook_name} contain {containing!r}"
    return cells[0]


def line_of(source: str, text: str) -> int:
    """The number of the first line of source that contains text, as a traceback counts lines."""
    return next(number for number, line in enumerate(source.splitlines(), start=1) if text in line)


@functools.cache
def _solution(notebook_name: str):
    return nbformat.read(labbuild.solutions_dir() / notebook_name, as_version=4)
