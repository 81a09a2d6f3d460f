"""linux.gunicorn.profile picks worker_class / threads unless they are set; contradictions are
refused. Pure spec checks, table-driven."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from components.spec.linux import GunicornSpec


@pytest.mark.parametrize(
    ("given", "worker_class", "threads"),
    [
        ({}, "sync", 4),
        ({"profile": "cpu"}, "sync", 4),
        ({"profile": "io"}, "gthread", 8),
        ({"profile": "io", "threads": 16}, "gthread", 16),
        ({"profile": "io", "worker_class": "gevent"}, "gevent", 8),
        ({"profile": "cpu", "worker_class": "gthread"}, "gthread", 4),
    ],
)
def test_profile_defaults(given: dict[str, object], worker_class: str, threads: int) -> None:
    g = GunicornSpec.model_validate(given)
    assert (g.worker_class, g.threads) == (worker_class, threads)


@pytest.mark.parametrize(
    ("given", "phrase"),
    [
        ({"profile": "io", "worker_class": "sync"}, "gthread or gevent"),
        ({"profile": "gpu"}, "profile"),
    ],
)
def test_profile_contradictions_are_refused(given: dict[str, object], phrase: str) -> None:
    with pytest.raises(ValidationError) as err:
        GunicornSpec.model_validate(given)
    assert phrase in str(err.value)
