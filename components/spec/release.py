"""How an app's release rolls out over its instances (the release channel, issue 13 Build 2)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from components.spec.common import Model

# SSM SendCommand's MaxConcurrency takes `^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$` (botocore's
# model, components/aws/release_wait.py checks it again before any call): a count or 1%..100%.
SHARE_PATTERN = re.compile(r"^([1-9][0-9]?|100)%$")
MAX_COUNT = 10000  # more than an auto scaling group holds; a bound, not a limit anyone meets


class ReleaseSettings(Model):
    """The rolling order of a release over the app's instances."""

    max_concurrency: int | str = Field(
        1,
        description="Instances that activate a release at the same time: a count (1 = one at a "
        'time) or a share of the targeted instances such as "25%" (SSM Run Command\'s '
        "MaxConcurrency). No new instance starts after the first failure (those already running "
        "finish) and the switched ones roll back; with a `release_command` the first instance "
        "runs it alone before the others.",
    )

    @field_validator("max_concurrency", mode="before")
    @classmethod
    def _max_concurrency(cls, v: Any) -> int | str:
        if isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_COUNT:
            return v
        if isinstance(v, str) and SHARE_PATTERN.match(v):
            return v
        raise ValueError(
            f"{v!r} is neither a whole number of instances 1..{MAX_COUNT} nor a share "
            '"1%".."100%" (quoted, with %)'
        )

    @property
    def ssm_max_concurrency(self) -> str:
        """SendCommand's MaxConcurrency: always a string."""
        return str(self.max_concurrency)
