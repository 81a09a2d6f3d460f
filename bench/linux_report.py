"""docs/performance.md's Linux section: one table per workload row with every config's paired
ratio against the row's best peer, the A/A noise band, and the must-show verdicts."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.linux_bench import WORKLOADS, LinuxRow, Workload
from bench.verdict import Paired, at_least, call, describe, noise_band, paired_ratios


@dataclass(frozen=True)
class RowFigures:
    """A row's reference points: its best peer and its A/A bands (req/s and p99)."""

    best_peer: LinuxRow | None
    band_rps: float
    band_p99: float


def figures(rows: list[LinuxRow], wl: Workload) -> RowFigures:
    mine = [r for r in rows if r.workload is wl]
    peers = [r for r in mine if r.role == "peer" and any(r.runs)]
    best = max(peers, key=lambda r: r.median("rps"), default=None)
    default = next((r for r in mine if r.role == "default"), None)
    aa = next((r for r in mine if r.role == "aa"), None)
    if default is None or aa is None:
        return RowFigures(best, math.nan, math.nan)
    return RowFigures(
        best,
        noise_band(paired_ratios(aa.rps(), default.rps())),
        noise_band(paired_ratios(aa.p99(), default.p99(), higher_is_better=False)),
    )


def fmt(v: float, digits: int = 0) -> str:
    return "n/a" if v != v else f"{v:,.{digits}f}"


def row_table(rows: list[LinuxRow], wl: Workload, fig: RowFigures) -> list[str]:
    out = [
        "| config | role | req/s | p50 ms | p99 ms | errors | CPU ms/req: Nginx | app"
        " | req/s vs best peer, paired | p99 vs best peer, paired | kept with slow clients |",
        "|" + "---|" * 11,
    ]
    best = fig.best_peer
    for r in (x for x in rows if x.workload is wl):
        if not any(r.runs):
            out.append(f"| {r.target.name} | {r.role} | not measured |" + " |" * 8)
            continue
        vs_rps = vs_p99 = ""
        if best is not None and r is not best and r.role not in ("ceiling",):
            p = paired_ratios(r.rps(), best.rps())
            q = paired_ratios(r.p99(), best.p99(), higher_is_better=False)
            vs_rps = f"{p.median:.2f}x ({p.low:.2f}-{p.high:.2f})"
            vs_p99 = f"{q.median:.2f}x ({q.low:.2f}-{q.high:.2f})"
        kept = f"{fmt(_median(r.kept))}%" if r.kept else ""
        out.append(
            f"| {r.target.name} | {r.role} | {fmt(r.median('rps'))} | {fmt(r.median('p50_ms'), 1)}"
            f" | {fmt(r.median('p99_ms'), 1)} | {fmt(r.median('errors'))}"
            f" | {fmt(r.cpu_ms('nginx'), 3)} | {fmt(r.cpu_ms('app'), 3)}"
            f" | {vs_rps} | {vs_p99} | {kept} |"
        )
    return out


def aa_table(rows: list[LinuxRow]) -> list[str]:
    out = [
        "| row | config run twice | req/s: A/A ratio per round | band | p99: A/A ratio per round"
        " | band |",
        "|---|---|---|---|---|---|",
    ]
    for wl in WORKLOADS:
        mine = [r for r in rows if r.workload is wl]
        d = next((r for r in mine if r.role == "default"), None)
        aa = next((r for r in mine if r.role == "aa"), None)
        if d is None or aa is None:
            continue
        p = paired_ratios(aa.rps(), d.rps())
        q = paired_ratios(aa.p99(), d.p99(), higher_is_better=False)
        out.append(
            f"| {wl.key} | {d.target.name} | {_list(p)} | +-{_pct(noise_band(p))}"
            f" | {_list(q)} | +-{_pct(noise_band(q))} |"
        )
    return out


def verdict_lines(rows: list[LinuxRow]) -> list[str]:
    out = []
    for wl in WORKLOADS:
        fig = figures(rows, wl)
        mine = [r for r in rows if r.workload is wl]
        d = next((r for r in mine if r.role == "default"), None)
        best = fig.best_peer
        if d is None or best is None or not any(d.runs):
            out.append(f"- FAIL: {wl.key}: the default or every peer was not measured")
            continue
        p = paired_ratios(d.rps(), best.rps())
        q = paired_ratios(d.p99(), best.p99(), higher_is_better=False)
        ok = at_least(p, fig.band_rps, wl.factor) and at_least(q, fig.band_p99)
        target = "" if wl.factor == 1.0 else f" (target >= {wl.factor:g}x)"
        out.append(
            f"- {_pf(ok)}: {wl.key}: {d.target.name} vs the best peer, {best.target.name}:"
            f" req/s {describe(p, fig.band_rps)}{target}; p99 {describe(q, fig.band_p99)}"
        )
        if wl.key == "io":
            out.append(_vs_named(mine, d, "digitalocean", 1.5, fig.band_rps))
        if wl.ceiling_factor:
            out.append(_vs_named(mine, d, "ceiling", wl.ceiling_factor, fig.band_rps))
        if wl.key == "tiny":
            out.append(_cpu_split(d, best))
        for other in (r for r in mine if r.role == "other"):
            o = paired_ratios(other.rps(), best.rps())
            oq = paired_ratios(other.p99(), best.p99(), higher_is_better=False)
            out.append(
                f"- trade (not the default for this workload): {wl.key}: {other.target.name}:"
                f" req/s {o.median:.2f}x, {call(o, fig.band_rps)}; p99 {oq.median:.2f}x,"
                f" {call(oq, fig.band_p99)}"
            )
        if d.kept:
            kept = _median(d.kept)
            out.append(
                f"- {_pf(kept >= 90.0)}: {wl.key}: {d.target.name} keeps {fmt(kept)}% of its"
                " req/s with slow clients held open (>= 90%)"
            )
    return out


def _vs_named(mine: list[LinuxRow], d: LinuxRow, key: str, factor: float, band: float) -> str:
    other = next((r for r in mine if r.key == key), None)
    if other is None or not any(other.runs):
        return f"- FAIL: {d.workload.key}: {key} was not measured"
    p = paired_ratios(d.rps(), other.rps())
    return (
        f"- {_pf(at_least(p, band, factor))}: {d.workload.key}: {d.target.name} vs"
        f" {other.target.name}: req/s {describe(p, band)} (target >= {factor:g}x)"
    )


def _cpu_split(d: LinuxRow, best: LinuxRow) -> str:
    return (
        f"- CPU per request (median of rounds), {d.target.name}: Nginx"
        f" {fmt(d.cpu_ms('nginx'), 3)} + app {fmt(d.cpu_ms('app'), 3)} ms; {best.target.name}:"
        f" Nginx {fmt(best.cpu_ms('nginx'), 3)} + app {fmt(best.cpu_ms('app'), 3)} ms"
    )


def _pf(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _pct(v: float) -> str:
    return "n/a" if v != v else f"{100 * v:.0f}%"


def _list(p: Paired) -> str:
    return ", ".join(f"{r:.2f}" for r in p.ratios) or "none"


def _median(vals: list[float]) -> float:
    s = sorted(vals)
    return s[len(s) // 2] if s else math.nan
