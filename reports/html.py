"""The report as one self-contained HTML file: its figures, and four charts drawn with
matplotlib straight into the page as SVG (no script, no network needed to open it).

Charts: cases opened and escalated per day; SLA compliance per clock; the CSAT
distribution; the escalation funnel by level.
"""

import io
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from domain.metrics import Report
from reports.text import lines

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
BLUE, RED, AMBER, GREEN, GREY = "#1f5fbf", "#b3261e", "#c77700", "#2e7d32", "#9aa5b1"


def _chart(name: str, title: str, draw: Callable[[Axes], None]) -> Markup:
    """One chart as inline SVG; `name` salts its element ids so charts never share one."""
    style: dict[Any, Any] = {
        "svg.hashsalt": name,
        "svg.fonttype": "none",  # text stays text: searchable, and smaller
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with matplotlib.rc_context(style):
        figure = Figure(figsize=(6.4, 2.8))
        axes = figure.add_subplot()
        axes.set_title(title, loc="left", fontsize=10)
        draw(axes)
        out = io.StringIO()
        figure.savefig(out, format="svg", bbox_inches="tight")
    svg = out.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML prologue inside HTML
    return Markup(f'<figure class="chart" data-chart="{name}">{svg}</figure>')


def _volume(report: Report) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        days = [v.day.strftime("%m-%d") for v in report.volume]
        if not days:
            axes.text(0.5, 0.5, "no cases in this period", ha="center", transform=axes.transAxes)
            return
        axes.bar(days, [v.opened for v in report.volume], color=BLUE, label="opened")
        axes.bar(days, [v.escalated for v in report.volume], color=RED, label="escalated")
        axes.legend(frameon=False)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        step = max(1, len(days) // 12)
        axes.set_xticks(range(0, len(days), step), days[::step], rotation=45, ha="right")

    return draw


def _sla(report: Report) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        clocks = [c.clock.replace("_", " ") for c in report.sla]
        if not clocks:
            axes.text(0.5, 0.5, "no SLA clock ended", ha="center", transform=axes.transAxes)
            return
        rows = range(len(clocks))
        for offset, (label, colour, values) in enumerate(
            [
                ("met", GREEN, [c.met for c in report.sla]),
                ("warned", AMBER, [c.warned for c in report.sla]),
                ("breached", RED, [c.breached for c in report.sla]),
            ]
        ):
            axes.barh(
                [r + (offset - 1) * 0.27 for r in rows], values, 0.25, color=colour, label=label
            )
        axes.set_yticks(list(rows), clocks)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(frameon=False, loc="upper left", bbox_to_anchor=(1, 1))

    return draw


def _csat(report: Report) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        scores = list(report.csat.distribution)
        colours = [RED, RED, GREY, GREEN, GREEN]
        axes.bar([str(s) for s in scores], list(report.csat.distribution.values()), color=colours)
        axes.set_xlabel("rating (1 poor, 5 great)")
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))

    return draw


def _funnel(report: Report) -> Callable[[Axes], None]:
    def draw(axes: Axes) -> None:
        levels = list(report.funnel)[::-1]
        axes.barh(levels, [report.funnel[lv] for lv in levels], color=BLUE)
        for index, level in enumerate(levels):
            axes.text(report.funnel[level], index, f" {report.funnel[level]}", va="center")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))

    return draw


# matplotlib's rc settings are process-wide: two reports drawn at once (the console renders
# on worker threads) would mix their styles and element ids. One drawing at a time.
_DRAWING = threading.Lock()


def render(report: Report, brand: str) -> str:
    """The whole page."""
    with _DRAWING:
        charts = _charts(report)
    return _TEMPLATES.get_template("report.html").render(
        report=report, brand=brand, figures=list(lines(report)), charts=charts
    )


def _charts(report: Report) -> list[Markup]:
    return [
        _chart("volume", "Cases opened and escalated per day", _volume(report)),
        _chart("sla", "SLA clocks: met on time, warned, breached", _sla(report)),
        _chart("csat", f"CSAT ratings ({report.csat.rated})", _csat(report)),
        _chart("funnel", "Escalation funnel: cases that reached each level", _funnel(report)),
    ]
