"""The check panel a notebook shows: one row per check, its message, hints one at a time, re-run."""

import html

import ipywidgets as widgets

from labkit.checks import PASSED, SYMBOLS, as_text

COLOURS = {PASSED: "#1a7f37", "not done yet": "#9a6700", "failed": "#cf222e", "error": "#cf222e"}


class CheckPanel(widgets.VBox):
    """Shows results as a widget in JupyterLab; as plain text wherever widgets do not render."""

    def __init__(self, run, heading: str):
        super().__init__(layout=widgets.Layout(border="1px solid #d0d7de", padding="6px"))
        self._run = run
        self._heading = heading
        self.results = []
        self.refresh()

    def refresh(self, _button=None) -> None:
        self.results = self._run()
        passed = sum(r.passed for r in self.results)
        title = widgets.HTML(f"<b>{html.escape(self._heading)}</b>: {passed} of {len(self.results)} passed")
        again = widgets.Button(description="Check again", icon="refresh", tooltip="run these checks again")
        again.on_click(self.refresh)
        self.children = [title, *(self._row(r) for r in self.results), again]
        self.add_class("labkit-check-panel")

    def _row(self, result):
        colour = COLOURS[result.status]
        text = f"<span style='color:{colour}'>{SYMBOLS[result.status]} <b>{html.escape(result.title)}</b></span>"
        if not result.passed:
            text += f" <i>{html.escape(result.status)}</i>: {html.escape(result.message)}"
        row = widgets.HTML(text, layout=widgets.Layout(margin="2px 0"))
        row.add_class(f"labkit-check-{result.status.replace(' ', '-')}")
        if result.passed or not result.hints:
            return row
        shown = widgets.HTML("")
        button = widgets.Button(
            description=f"Show a hint (1 of {len(result.hints)})", layout=widgets.Layout(width="auto")
        )
        revealed = []

        def show_next(_button):
            revealed.append(result.hints[len(revealed)])
            shown.value = "".join(f"<div>💡 {html.escape(h)}</div>" for h in revealed)
            if len(revealed) == len(result.hints):
                button.disabled = True
                button.description = "No more hints"
            else:
                button.description = f"Show a hint ({len(revealed) + 1} of {len(result.hints)})"

        button.on_click(show_next)
        return widgets.VBox([row, widgets.HBox([button]), shown])

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = as_text(self.results, self._heading)
        return bundle
