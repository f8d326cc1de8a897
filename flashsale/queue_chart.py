"""The console's chart of the waiting room: stock left, queue length and admissions a second over
the kept samples, as three stacked panels on one time axis. Drawn on the server as SVG (no script),
with a title and a text summary that say what the lines show."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from flashsale.queue_selectors import QueueSample

WIDTH, PANEL_HEIGHT, GAP, LEFT = 600, 56, 22, 4  # SVG user units
RATE_WINDOW = 5  # samples: admissions come in ticks, so a rate over one second would only show the ticks
PLOT_WIDTH = WIDTH - LEFT - 92  # room on the right for each panel's latest value


@dataclass(frozen=True)
class Panel:
    label: str
    css: str  # the panel's colour class in the template
    points: str  # the polyline's "x,y x,y ..."
    top: int  # y of the panel's top edge
    peak: float
    latest: float
    latest_y: str  # where the line ends (its latest value is written there), unlocalised for SVG

    @property
    def bottom(self) -> int:
        return self.top + PANEL_HEIGHT

    @property
    def label_y(self) -> int:
        return self.top - 6


@dataclass(frozen=True)
class QueueChart:
    panels: list[Panel]
    seconds: int  # the time the samples cover
    span_text: str
    title: str
    summary: str
    width: int = WIDTH
    plot_right: int = LEFT + PLOT_WIDTH
    left: int = LEFT

    @property
    def height(self) -> int:
        return len(self.panels) * (PANEL_HEIGHT + GAP) + GAP

    @property
    def axis_y(self) -> int:
        return self.height - 6


def _admissions_per_second(samples: list[QueueSample]) -> list[tuple[int, float]]:
    """Admissions a second at each sample, over the RATE_WINDOW samples before it."""
    rates = []
    for i in range(1, len(samples)):
        before, after = samples[max(0, i - RATE_WINDOW)], samples[i]
        elapsed = after.at_ms - before.at_ms
        if elapsed > 0:
            rates.append((after.at_ms, max(0, after.admitted_total - before.admitted_total) * 1000 / elapsed))
    return rates


def _panel(label: str, css: str, series: list[tuple[int, float]], t0: int, span: int, top: int) -> Panel:
    peak = max((v for _, v in series), default=0.0)
    scale = peak or 1.0
    xy = [(LEFT + (t - t0) * PLOT_WIDTH / span, top + PANEL_HEIGHT - v * PANEL_HEIGHT / scale) for t, v in series]
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    latest, latest_y = (series[-1][1], xy[-1][1]) if series else (0.0, float(top + PANEL_HEIGHT))
    return Panel(label, css, points, top, peak, latest, f"{latest_y + 4:.1f}")


def _duration(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if minutes:
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": rest}
    return _("%(seconds)d s") % {"seconds": rest}


def _summary(samples: list[QueueSample], rates: list[tuple[int, float]], seconds: int) -> str:
    first, last = samples[0], samples[-1]
    peak_waiting = max(s.waiting for s in samples)
    admitted = last.admitted_total - first.admitted_total
    mean = admitted / seconds if seconds else 0.0
    peak_rate = max((r for _, r in rates), default=0.0)
    return _(
        "Over the last %(span)s: stock %(stock_from)s → %(stock_to)s; "
        "queue length %(waiting_from)s → %(waiting_to)s (peak %(waiting_peak)s); "
        "%(admitted)s admitted, %(mean)s a second on average (peak %(rate_peak)s a second)."
    ) % {
        "span": _duration(seconds),
        "stock_from": f"{first.stock:,}",
        "stock_to": f"{last.stock:,}",
        "waiting_from": f"{first.waiting:,}",
        "waiting_to": f"{last.waiting:,}",
        "waiting_peak": f"{peak_waiting:,}",
        "admitted": f"{admitted:,}",
        "mean": f"{mean:.1f}",
        "rate_peak": f"{peak_rate:.0f}",
    }


def queue_chart(samples: list[QueueSample]) -> QueueChart | None:
    """The chart of ``samples`` (oldest first); None with fewer than two (nothing to draw yet)."""
    if len(samples) < 2:
        return None
    t0, t1 = samples[0].at_ms, samples[-1].at_ms
    span = max(1, t1 - t0)
    rates = _admissions_per_second(samples)
    series = [
        (_("Stock left"), "stock", [(s.at_ms, float(s.stock)) for s in samples]),
        (_("Queue length"), "waiting", [(s.at_ms, float(s.waiting)) for s in samples]),
        (_("Admissions a second (%(window)d s average)") % {"window": RATE_WINDOW}, "rate", rates),
    ]
    panels = [
        _panel(label, css, points, t0, span, GAP + i * (PANEL_HEIGHT + GAP))
        for i, (label, css, points) in enumerate(series)
    ]
    seconds = round(span / 1000)
    return QueueChart(
        panels=panels,
        seconds=seconds,
        span_text=_duration(seconds),
        title=_("Waiting room, last %(span)s: stock left, queue length, admissions a second")
        % {"span": _duration(seconds)},
        summary=_summary(samples, rates, seconds),
    )
