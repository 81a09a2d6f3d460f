"""docs/performance.md's Linux section: one table per workload row with every config's paired
ratio against the row's best peer, the A/A noise band, and the must-show verdicts."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.linux_bench import WORKLOADS, LinuxRow, Workload, run_seconds
from bench.report_text import MICROCACHE_TEXT, PEERS_TEXT, WORKLOAD_TEXT
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
        "| config | role | req/s | p50 ms | p99 ms | errors | KB/resp | CPU ms/req: Nginx | app"
        " | req/s vs best peer, paired | p99 vs best peer, paired | kept with slow clients |",
        "|" + "---|" * 12,
    ]
    best = fig.best_peer
    for r in (x for x in rows if x.workload is wl):
        if not any(r.runs):
            out.append(f"| {r.target.name} | {r.role} | not measured |" + " |" * 9)
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
            f" | {fmt(r.median('bytes_per_request') / 1024, 1)} | {fmt(r.cpu_ms('nginx'), 3)} | {fmt(r.cpu_ms('app'), 3)}"
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
        if wl.key == "page":
            out += page_lines(mine, d, best, fig.band_rps)
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


def page_lines(mine: list[LinuxRow], d: LinuxRow, best: LinuxRow, band: float) -> list[str]:
    """The gzip row's best peer may send the page uncompressed: on loopback bytes cost nothing,
    so its req/s compares CPU only. Say so with the bytes, judge the default against the best
    peer that compresses too (the same work), and give the link speed below which the
    uncompressed peer's bytes, not its CPU, would cap it under our measured rate."""
    size = {r.key: r.median("bytes_per_request") for r in mine if any(r.runs)}
    largest = max(size.values(), default=math.nan)
    zipped = {k for k, v in size.items() if v < largest / 2}  # NaN compares false: none
    if d.key not in zipped or best.key in zipped:
        return []
    out = []
    peers = [r for r in mine if r.role == "peer" and r.key in zipped]
    same = max(peers, key=lambda r: r.median("rps"), default=None)
    if same is not None:
        p = paired_ratios(d.rps(), same.rps())
        out.append(
            f"- {_pf(at_least(p, band))}: page, both compressing: {d.target.name} vs the best"
            f" peer that also compresses, {same.target.name}"
            f" ({fmt(size[same.key] / 1024, 1)} KB/resp): req/s {describe(p, band)}"
        )
    mbit = d.median("rps") * size[best.key] * 8 / 1e6
    out.append(
        f"- bytes, not judged: {best.target.name} sends {fmt(size[best.key] / 1024, 1)} KB per"
        f" page, {size[best.key] / size[d.key]:.1f}x the {fmt(size[d.key] / 1024, 1)} KB of"
        f" {d.target.name}. Loopback has no bandwidth limit, so the req/s above compare CPU"
        f" only. With less than {fmt(mbit)} Mbit/s of client bandwidth per host (computed:"
        f" {fmt(d.median('rps'))} req/s x {fmt(size[best.key] / 1024, 1)} KB, not measured),"
        " the uncompressed peer could not send as many pages as the rendered stack served here."
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


def durations() -> str:
    return ", ".join(f"{w.key} {run_seconds(w):g}s" for w in WORKLOADS)


def linux_ceilings(linux: list[LinuxRow]) -> dict[bool, float]:
    """Nginx's own `return 200` (tiny row) and static file (static row), for the Windows rows."""
    out = {}
    for static, key in ((False, "tiny"), (True, "static")):
        row = next((r for r in linux if r.workload.key == key and r.role == "ceiling"), None)
        out[static] = row.median("rps") if row else float("nan")
    return out


def linux_section(
    linux: list[LinuxRow],
    cores: int,
    rendered_settings: str,
    loads: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> list[str]:
    out = [
        "## Linux: Nginx -> Gunicorn, one row per workload",
        "",
        f"The rendered stacks are the sample app as a prod-like stack renders it for this machine"
        f" ({cores} vCPUs; profile cpu: {rendered_settings or 'see gunicorn.conf.py'}), run by"
        " LocalLinuxSite from the rendered nginx.conf, gunicorn conf and systemd unit. Each row"
        " runs its configs back-to-back in every round (the order rotated per round), so a pair"
        " of configs shares the machine's load of that minute; `vs best peer, paired` is the"
        " median over rounds of (this config / the row's best peer by median req/s) in that"
        " round, with the lowest and highest round in brackets (for p99: best peer's / this"
        " config's, so above 1 is better too). `role`: default = the rendered config a user gets"
        " for this workload; aa = a second copy of it (the noise band); other = the other"
        " rendered default (the trade). CPU ms/req: user+system CPU of the config's Nginx"
        " processes and of its app server's processes per request (median of rounds).",
        "",
    ]
    for wl in WORKLOADS:
        fig = figures(linux, wl)
        out += [f"### {wl.title}", "", *row_table(linux, wl, fig), ""]
    out += [
        "### A/A: each row's default config against a copy of itself (the noise band)",
        "",
        "The band of a row is the largest deviation from 1.00 of its A/A rounds: two identical"
        " configs, run back-to-back, landed that far apart in one round. A median ratio is"
        " called ahead only above 1 + band, behind only below 1 - band; inside the band the"
        " verdict says which side of 1 the median is (a loss is never called a tie).",
        "",
        *aa_table(linux),
        "",
        *PEERS_TEXT,
        "",
        "Must show (paired by round; PASS = the median ratio reaches the target, less the row's"
        " measured band; p99 must not be behind either; `trade` lines are the other profile on"
        " a row it is not the default for, shown, not judged):",
        "",
        *verdict_lines(linux),
        "",
        *WORKLOAD_TEXT,
        "",
        *MICROCACHE_TEXT,
        "",
    ]
    return out
