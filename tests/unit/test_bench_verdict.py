"""The bench's verdict arithmetic (bench/verdict.py): pairing by round, the A/A noise band, and the
call. Table-driven, no timing: the figures are inputs."""

from __future__ import annotations

import math

import pytest

from bench.verdict import Paired, at_least, call, describe, noise_band, paired_ratios

NAN = math.nan


@pytest.mark.parametrize(
    ("mine", "theirs", "higher", "expected"),
    [
        # round i against round i: a slow round of both configs cancels out
        ([100, 50, 100], [100, 50, 100], True, (1.0, 1.0, 1.0)),
        ([110, 55], [100, 50], True, (1.1, 1.1)),
        # latency: lower is better, so theirs / mine
        ([10.0, 20.0], [20.0, 20.0], False, (2.0, 1.0)),
        # a failed run drops its round only; it is never paired with another round
        ([100, None, 90], [100, 80, NAN], True, (1.0,)),
        ([100, 0.0], [100, 50], True, (1.0,)),
        ([], [], True, ()),
    ],
)
def test_paired_ratios(mine, theirs, higher, expected) -> None:
    got = paired_ratios(mine, theirs, higher_is_better=higher).ratios
    assert got == pytest.approx(expected), "ratios must pair round i with round i only"


def test_pairing_resists_a_noisy_round_that_unpaired_medians_do_not() -> None:
    # The figures: behind in every round; the unpaired min-max ranges overlap.
    rendered = [1900.0, 1500.0, 2757.0, 3864.0, 3100.0]
    peer = [2209.0, 2727.0, 3446.0, 3864.0, 3444.0]
    p = paired_ratios(rendered, peer)
    assert p.high <= 1.0 and p.median < 0.9
    assert call(p, band=0.05) == "behind", "a loss in every round must be called behind"


@pytest.mark.parametrize(
    ("aa", "band"),
    [
        ((1.0, 1.0), 0.0),
        ((0.95, 1.02, 1.03), 0.05),
        ((1.10, 0.98), 0.10),
    ],
)
def test_noise_band_is_the_widest_aa_round(aa, band) -> None:
    assert noise_band(Paired(aa)) == pytest.approx(band)


def test_noise_band_without_aa_is_unknown() -> None:
    assert math.isnan(noise_band(Paired(())))


@pytest.mark.parametrize(
    ("ratios", "band", "expected"),
    [
        ((1.2, 1.3, 1.25), 0.05, "ahead"),
        ((1.03, 1.04, 1.02), 0.05, "within noise, above 1"),
        ((1.0,), 0.0, "within noise, above 1"),
        # a median below 1 is said to be below 1, even inside the band: never "a tie"
        ((0.98, 0.97, 0.99), 0.05, "within noise, below 1"),
        ((0.9, 0.85, 0.8), 0.05, "behind"),
        ((0.99,), 0.0, "behind"),
        ((1.2,), NAN, "no data"),
        ((), 0.05, "no data"),
    ],
)
def test_call(ratios, band, expected) -> None:
    assert call(Paired(ratios), band) == expected


@pytest.mark.parametrize(
    ("ratios", "band", "factor", "ok"),
    [
        ((1.0,), 0.0, 1.0, True),
        ((0.97,), 0.05, 1.0, True),  # within noise below 1: not shown behind
        ((0.94,), 0.05, 1.0, False),  # below the band: behind, a FAIL
        ((1.6, 1.7), 0.05, 1.5, True),
        ((1.4,), 0.05, 1.5, False),
        ((12.0,), 0.1, 10.0, True),
        ((8.0,), 0.1, 10.0, False),
        ((2.0,), NAN, 1.0, False),  # no band measured: no pass
        ((), 0.0, 1.0, False),
    ],
)
def test_at_least(ratios, band, factor, ok) -> None:
    assert at_least(Paired(ratios), band, factor) is ok


def test_describe_states_median_spread_rounds_band_and_call() -> None:
    text = describe(Paired((0.91, 0.97, 1.04)), 0.06)
    assert text == "0.97x (0.91-1.04 over 3 rounds; band +-6%): within noise, below 1"
    assert describe(Paired(()), 0.06) == "no paired rounds"


# -- the report's verdict lines on synthetic rows (no servers, no timing) -------------------------
def _rows(default_rps, aa_rps, peer_rps):
    from bench.linux_bench import WORKLOADS, LinuxRow
    from bench.load import WrkResult
    from bench.targets import SharedPath

    wl = WORKLOADS[0]

    def row(key, role, rps):
        runs = [WrkResult(int(r), 1.0, r, 1.0, 1000.0 / r, 0, {}) for r in rps]
        return LinuxRow(wl, key, role, SharedPath(key, "rendered"), runs=runs)

    return [
        row("cpu", "default", default_rps),
        row("cpu-aa", "aa", aa_rps),
        row("digitalocean", "peer", peer_rps),
    ]


def test_report_calls_a_loss_in_every_round_a_fail() -> None:
    from bench.linux_report import verdict_lines

    rows = _rows([1900, 1500, 2757], [1950, 1480, 2700], [2209, 2727, 3446])
    line = next(x for x in verdict_lines(rows) if x.startswith(("- PASS: tiny", "- FAIL: tiny")))
    assert line.startswith("- FAIL: tiny") and "behind" in line, line


def test_report_passes_a_win_outside_the_band() -> None:
    from bench.linux_report import verdict_lines

    rows = _rows([2400, 2500, 2600], [2450, 2480, 2620], [2000, 2100, 2150])
    line = next(x for x in verdict_lines(rows) if x.startswith(("- PASS: tiny", "- FAIL: tiny")))
    assert line.startswith("- PASS: tiny") and ": ahead" in line, line


def _page_rows(sizes_kb: dict[str, float], rps: dict[str, list[float]]):
    """Synthetic page-row configs: key -> KB per response and req/s per round."""
    from bench.linux_bench import WORKLOADS, LinuxRow
    from bench.load import WrkResult
    from bench.targets import SharedPath

    wl = next(w for w in WORKLOADS if w.key == "page")
    roles = {"cpu": "default", "cpu-aa": "aa"}

    def row(key):
        runs = [
            WrkResult(int(r), 1.0, r, 1.0, 100.0, 0, {}, sizes_kb[key] * 1024) for r in rps[key]
        ]
        return LinuxRow(wl, key, roles.get(key, "peer"), SharedPath(key, "rendered"), runs=runs)

    return [row(k) for k in rps]


def test_page_row_names_the_bytes_and_judges_against_a_compressing_peer() -> None:
    from bench.linux_report import verdict_lines

    sizes = {"cpu": 21.6, "cpu-aa": 21.6, "digitalocean": 29.5, "eb-procfile": 188.0}
    rps = {
        "cpu": [550, 548, 560],
        "cpu-aa": [552, 549, 558],
        "digitalocean": [540, 530, 545],
        "eb-procfile": [686, 690, 680],
    }
    lines = verdict_lines(_page_rows(sizes, rps))
    main = next(x for x in lines if x.startswith(("- PASS: page:", "- FAIL: page:")))
    assert main.startswith("- FAIL: page:") and "eb-procfile" in main, "no faked win"
    same = next(x for x in lines if "both compressing" in x)
    assert same.startswith("- PASS: page, both compressing: cpu vs") and "digitalocean" in same
    [note] = [x for x in lines if x.startswith("- bytes, not judged:")]
    assert "188.0 KB per page, 8.7x the 21.6 KB" in note
    # 550 req/s x 188 KB x 8 bits = 847 Mbit/s
    assert "less than 847 Mbit/s" in note, note


def test_page_row_says_nothing_extra_when_the_best_peer_compresses_too() -> None:
    from bench.linux_report import verdict_lines

    sizes = {"cpu": 21.6, "cpu-aa": 21.6, "digitalocean": 29.5, "eb-procfile": 188.0}
    rps = {
        "cpu": [700, 710, 705],
        "cpu-aa": [702, 708, 706],
        "digitalocean": [690, 695, 700],
        "eb-procfile": [500, 510, 505],
    }
    lines = verdict_lines(_page_rows(sizes, rps))
    assert not [x for x in lines if "both compressing" in x or x.startswith("- bytes")]
