"""Praat TextGrid, long text format: one IntervalTier per annotation tier.

Praat requires each interval tier to tile [xmin, xmax] with no gaps, so the time between
annotations is filled with empty intervals. Strings are double-quoted, with `"` doubled.
"""

from __future__ import annotations

from encounter_feedback.research.tiers import Interval, Tier


def textgrid(tiers: list[Tier], duration: float) -> str:
    """The TextGrid text of `tiers` over [0, duration] (extended to the last interval if later)."""
    xmax = max([duration] + [i.t1 for tier in tiers for i in tier.intervals])
    lines = [
        'File type = "ooTextFile"',
        'Object class = "TextGrid"',
        "",
        "xmin = 0",
        f"xmax = {xmax}",
        "tiers? <exists>",
        f"size = {len(tiers)}",
        "item []:",
    ]
    for n, tier in enumerate(tiers, start=1):
        intervals = _tiled(tier.intervals, xmax)
        lines += [
            f"    item [{n}]:",
            '        class = "IntervalTier"',
            f"        name = {_quote(tier.name)}",
            "        xmin = 0",
            f"        xmax = {xmax}",
            f"        intervals: size = {len(intervals)}",
        ]
        for k, interval in enumerate(intervals, start=1):
            lines += [
                f"        intervals [{k}]:",
                f"            xmin = {interval.t0}",
                f"            xmax = {interval.t1}",
                f"            text = {_quote(interval.label)}",
            ]
    return "\n".join(lines) + "\n"


def _tiled(intervals: tuple[Interval, ...], xmax: float) -> list[Interval]:
    """The intervals with empty ones in every gap, from 0 to xmax."""
    tiled, cursor = [], 0.0
    for interval in intervals:
        if interval.t0 > cursor:
            tiled.append(Interval(cursor, interval.t0, ""))
        tiled.append(interval)
        cursor = interval.t1
    if cursor < xmax:
        tiled.append(Interval(cursor, xmax, ""))
    return tiled


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'
