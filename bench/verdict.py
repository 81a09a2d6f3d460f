"""The bench's verdict arithmetic: paired per-round ratios, their median and spread, the noise band
from an A/A comparison, and the call (ahead / within noise / behind). Pure functions, no timing.

Why paired: every round runs each config once, back-to-back, so the machine's background load of
that minute hits the two configs of a pair alike; the ratio of a pair cancels most of it, while
the raw req/s of separate rounds does not. The median of the per-round ratios resists one odd
round. The noise band is measured, not assumed: the same config run twice in each round (A/A)
shows how far apart two identical configs land; a median ratio is called ahead or behind only
outside that band, and a median below 1 is never called a tie.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Call = Literal["ahead", "within noise, above 1", "within noise, below 1", "behind", "no data"]


@dataclass(frozen=True)
class Paired:
    """A config's per-round ratios against a reference config (mine / theirs, higher = better)."""

    ratios: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.ratios) if self.ratios else math.nan

    @property
    def low(self) -> float:
        return min(self.ratios) if self.ratios else math.nan

    @property
    def high(self) -> float:
        return max(self.ratios) if self.ratios else math.nan


def paired_ratios(
    mine: Sequence[float | None], theirs: Sequence[float | None], higher_is_better: bool = True
) -> Paired:
    """Per-round ratios of two configs' figures, round i against round i only; a round where
    either run failed (None, zero or NaN) is dropped, never paired with another round. For a
    lower-is-better figure (latency) the ratio is theirs / mine, so > 1 still means better."""
    out = []
    for a, b in zip(mine, theirs, strict=False):
        if not _usable(a) or not _usable(b):
            continue
        assert a is not None and b is not None
        out.append(a / b if higher_is_better else b / a)
    return Paired(tuple(out))


def noise_band(aa: Paired) -> float:
    """Half-width of the band around 1 that identical configs reach: the largest deviation from 1
    of any A/A round (one round's noise; the median of several rounds is steadier, so a verdict
    against this band is conservative). NaN when there is no A/A round."""
    if not aa.ratios:
        return math.nan
    return max(abs(r - 1.0) for r in aa.ratios)


def call(p: Paired, band: float) -> Call:
    """Ahead only above 1 + band, behind below 1 - band; inside the band the side of 1 is said,
    so a loss within the noise is never presented as a tie. Without a measured band, no call."""
    m = p.median
    if not p.ratios or math.isnan(m) or math.isnan(band):
        return "no data"
    if m > 1.0 + band:
        return "ahead"
    if m < 1.0 - band:
        return "behind"
    return "within noise, above 1" if m >= 1.0 else "within noise, below 1"


def at_least(p: Paired, band: float, factor: float = 1.0) -> bool:
    """Is the median ratio at least `factor`, allowing the measured noise below it? For factor 1
    this is 'not behind'; for a target such as 1.5x or 10x the band is applied relatively."""
    m = p.median
    if not p.ratios or math.isnan(m) or math.isnan(band):
        return False
    return m >= factor * (1.0 - band)


def describe(p: Paired, band: float) -> str:
    """`0.97x (0.91-1.04 over 5 rounds; band +-6%): within noise, below 1`."""
    if not p.ratios:
        return "no paired rounds"
    band_text = "band not measured" if math.isnan(band) else f"band +-{100 * band:.0f}%"
    return (
        f"{p.median:.2f}x ({p.low:.2f}-{p.high:.2f} over {len(p.ratios)} rounds; {band_text}):"
        f" {call(p, band)}"
    )


def _usable(v: float | None) -> bool:
    return v is not None and not math.isnan(v) and v > 0
