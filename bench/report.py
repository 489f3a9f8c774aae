"""Figures as they are measured, and the compact table printed at the end."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One line of the final table: a figure, its same-run baseline, the ratio and the target."""

    name: str
    value: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    verdict: str = ""


def rate(per_second: float) -> str:
    return f"{per_second:,.0f}/s"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x" if baseline > 0 else "n/a"


def meets(ok: bool) -> str:
    """Informational only: the bench never fails on time."""
    return "meets target" if ok else "BELOW target"


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def line(label: str, value: str) -> None:
    print(f"  {label:<34} {value}", flush=True)


def table(rows: list[Row]) -> str:
    headers = ("figure", "measured", "baseline (same run)", "ratio", "target", "")
    cells = [headers, *((r.name, r.value, r.baseline, r.ratio, r.target, r.verdict) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(headers))]
    out = []
    for n, cell in enumerate(cells):
        out.append("  ".join(v.ljust(w) for v, w in zip(cell, widths, strict=True)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
