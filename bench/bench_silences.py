"""The longest a learner watches a running cell with nothing new on screen, per lab.

Each solution of labs 01-04 is executed as JupyterLab would run it (nbclient, the venv's kernel), against a
fresh local cloud of its own (private state folder, free port). Every message that changes what the learner
sees counts as news: printed text, a display or its update, an error, and a widget's state (the status lines
of labkit.waits update a Label). A silence is the time from a cell's start, or from the last news, to the next
news or the cell's end. Writes a Markdown table to bench/results/silences.md and prints it.
Target (issue "the learner's path"): no wait in labs 01-04 is silent for more than 10 s.
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from labkit.proc import free_port

ROOT = Path(__file__).resolve().parent.parent
LABS = ("01", "02", "03", "04")
TARGET_S = 10.0
NEWS = {"stream", "display_data", "update_display_data", "execute_result", "error", "comm_msg"}


class SilenceClock(NotebookClient):
    """Executes a notebook, keeping per cell the longest stretch without news."""

    def __init__(self, notebook, **kwargs):
        super().__init__(notebook, **kwargs)
        self.longest: list[tuple[float, int, str]] = []  # (seconds, cell index, first line of its source)
        self._last = 0.0
        self._cell_longest = 0.0
        self.on_cell_execute = self._started
        self.on_cell_executed = self._ended

    def _started(self, cell, cell_index):
        self._last, self._cell_longest = time.monotonic(), 0.0

    def _news(self) -> None:
        now = time.monotonic()
        self._cell_longest = max(self._cell_longest, now - self._last)
        self._last = now

    def _ended(self, cell, cell_index, execute_reply):
        self._news()
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        self.longest.append((self._cell_longest, cell_index, first[:60]))

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] in NEWS:
            self._news()
        return super().process_message(msg, cell, cell_index)


def run(lab: str) -> tuple[float, list[tuple[float, int, str]]]:
    """(the lab's wall time in s, its cells' longest silences, longest first)."""
    path = next((ROOT / "solutions").glob(f"{lab}_*.ipynb"))
    notebook = nbformat.read(path, as_version=4)
    state = tempfile.mkdtemp(prefix=f"labkit-bench-silences-{lab}-")
    port = str(free_port())
    os.environ.update(LABKIT_STATE_DIR=state, LABKIT_PORT=port, LABKIT_OWNER="bench")
    client = SilenceClock(notebook, timeout=1200, kernel_name="python3", resources={"metadata": {"path": path.parent}})
    started = time.monotonic()
    try:
        client.execute()
    finally:
        subprocess.run([str(Path(sys.executable).parent / "labkit"), "down"], capture_output=True, check=False)
    return time.monotonic() - started, sorted(client.longest, reverse=True)


def main() -> None:
    rows = ["| lab | run (s) | longest silence (s) | in the cell starting | 2nd longest (s) |", "|---|---|---|---|---|"]
    worst = 0.0
    for lab in LABS:
        wall, longest = run(lab)
        (first_s, first_cell, first_line), (second_s, _, _) = longest[0], longest[1]
        worst = max(worst, first_s)
        rows.append(f"| {lab} | {wall:.0f} | {first_s:.1f} | cell {first_cell}: `{first_line}` | {second_s:.1f} |")
    rows.append("")
    rows.append(f"The longest silence in labs {LABS[0]}-{LABS[-1]}: {worst:.1f} s (target: at most {TARGET_S:g} s).")
    table = "\n".join(rows) + "\n"
    (ROOT / "bench" / "results" / "silences.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
