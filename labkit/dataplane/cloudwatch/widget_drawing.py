"""A metric widget (metric_widgets.Widget) drawn as a PNG of its width and height in pixels, with
matplotlib's Agg backend: timeSeries as lines (stacked areas when stacked) on a left and a right axis, with
horizontal and vertical annotations (lines, bands); bar, pie, singleValue and gauge of each metric's latest
value. Figures are made without pyplot, whose global state the server's threads would share."""

import io
import threading
from datetime import datetime

from labkit.dataplane.cloudwatch.metric_widgets import Annotation, Line, Widget

_DPI = 100
_lock = threading.Lock()  # matplotlib's font and text caches are not made for threads


def png(widget: Widget) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with _lock:
        figure = Figure(figsize=(widget.width / _DPI, widget.height / _DPI), dpi=_DPI)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        if widget.title:
            axes.set_title(widget.title, fontsize=10, loc="left")
        if not any(line.values for line in widget.lines):
            _nothing(axes)
        elif widget.view == "timeSeries":
            _time_series(figure, axes, widget)
        else:
            _latest_values(axes, widget)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def _nothing(axes) -> None:
    axes.set_axis_off()
    axes.text(0.5, 0.5, "No data available.", ha="center", va="center", transform=axes.transAxes, color="#545b64")


def _time_series(figure, axes, widget: Widget) -> None:
    import matplotlib.dates as mdates

    right = None
    if any(line.y_axis == "right" for line in widget.lines) or any(a.y_axis == "right" for a in widget.horizontal):
        right = axes.twinx()
    sides = {"left": axes, **({"right": right} if right is not None else {})}
    for side, drawn in sides.items():
        lines = [line for line in widget.lines if line.y_axis == side]
        if widget.stacked:
            _stacked(drawn, lines)
            continue
        for line in lines:  # a line of one or two datapoints shows its points
            drawn.plot(
                line.times,
                line.values,
                color=line.color,
                label=line.label,
                linewidth=1.2,
                marker="o" if len(line.values) < 3 else None,
                markersize=3,
            )
    for annotation in widget.horizontal:
        _horizontal(sides.get(annotation.y_axis, axes), annotation)
    for annotation in widget.vertical:
        _vertical(axes, annotation)
    axes.set_xlim(widget.start, widget.end)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=widget.timezone))
    axes.tick_params(labelsize=8)
    for side, drawn in sides.items():
        settings = widget.y_axes.get(side, {})
        values = [value for line in widget.lines if line.y_axis == side for value in line.values]
        # From 0, as CloudWatch draws a metric that never goes below it.
        drawn.set_ylim(bottom=settings.get("min", 0 if min(values, default=0) >= 0 else None), top=settings.get("max"))
        if "max" not in settings and values:  # room above the highest value: a flat line is not drawn on the frame
            low, high = drawn.get_ylim()
            drawn.set_ylim(top=max(high, max(values) + 0.05 * (max(values) - low)))
        if "label" in settings:
            drawn.set_ylabel(settings["label"], fontsize=8)
    axes.grid(True, color="#e9ebed", linewidth=0.8)
    _legend(figure, axes, right, widget.legend)
    figure.tight_layout()


def _stacked(axes, lines: list[Line]) -> None:
    if not lines:
        return
    times = sorted({moment for line in lines for moment in line.times})
    layers = [[dict(zip(line.times, line.values, strict=True)).get(t, 0.0) for t in times] for line in lines]
    axes.stackplot(
        times,
        layers,
        labels=[line.label for line in lines],
        colors=[line.color for line in lines] if all(line.color for line in lines) else None,
        alpha=0.8,
    )


def _horizontal(axes, annotation: Annotation) -> None:
    color = annotation.color or "#d13212"
    if annotation.until is not None:
        axes.axhspan(annotation.value, annotation.until, color=color, alpha=0.15, label=annotation.label or None)
        return
    axes.axhline(annotation.value, color=color, linewidth=1, linestyle="--", label=annotation.label or None)
    if annotation.fill in ("above", "below"):
        low, high = axes.get_ylim()
        end = max(high, annotation.value * 1.1) if annotation.fill == "above" else min(low, 0)
        axes.axhspan(annotation.value, end, color=color, alpha=0.1)


def _vertical(axes, annotation: Annotation) -> None:
    color = annotation.color or "#545b64"
    if isinstance(annotation.until, datetime):
        axes.axvspan(annotation.value, annotation.until, color=color, alpha=0.15, label=annotation.label or None)
    else:
        axes.axvline(annotation.value, color=color, linewidth=1, linestyle="--", label=annotation.label or None)


def _legend(figure, axes, right, position: str) -> None:
    if position == "hidden":
        return
    handles, labels = axes.get_legend_handles_labels()
    if right is not None:
        more = right.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    if not handles:
        return
    if position == "right":
        axes.legend(
            handles,
            labels,
            loc="center left",
            bbox_to_anchor=(1.02 if right is None else 1.12, 0.5),
            fontsize=8,
            frameon=False,
        )
    else:
        axes.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.12),
            ncol=min(len(labels), 3),
            fontsize=8,
            frameon=False,
        )


def _latest_values(axes, widget: Widget) -> None:
    """bar, pie, singleValue, gauge: each metric's latest datapoint."""
    lines = [line for line in widget.lines if line.values]
    labels, values = [line.label for line in lines], [line.values[-1] for line in lines]
    colors = [line.color for line in lines] if all(line.color for line in lines) else None
    if widget.view == "bar":
        axes.bar(labels, values, color=colors)
        axes.tick_params(labelsize=8)
    elif widget.view == "pie":
        axes.pie(values, labels=labels, colors=colors, textprops={"fontsize": 8})
    else:
        axes.set_axis_off()
        for index, (label, value) in enumerate(zip(labels, values, strict=True)):
            x = (index + 0.5) / len(values)
            axes.text(x, 0.55, f"{value:,.4g}", ha="center", va="center", fontsize=22, transform=axes.transAxes)
            axes.text(x, 0.3, label, ha="center", va="center", fontsize=8, transform=axes.transAxes)
