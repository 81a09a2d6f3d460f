"""`webstack diagram`: a graphviz picture naming every app, the edge, ports and TLS."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from cli_support import ROOT


@pytest.fixture(autouse=True)
def _dot() -> None:
    if shutil.which("dot") is None:
        pytest.fail("graphviz `dot` is required (apt-get install graphviz)", pytrace=False)


def svg_text(path: Path) -> str:
    """All the text a reader sees in the SVG, one string."""
    root = ET.parse(path).getroot()
    return "\n".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))


def test_prod_svg_names_the_alb_tls_and_app(webstack, tmp_path: Path) -> None:
    out = tmp_path / "prod.svg"
    assert webstack("diagram", "--stack", "prod", "--project", ROOT, "--out", out).code == 0
    assert out.stat().st_size > 1000
    text = svg_text(out)
    for needle in (
        "Internet",
        "Application Load Balancer",
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        ":443 HTTPS",
        "django-app",
        "Gunicorn master 1",
        "Gunicorn master 2",
        "unix:/run/webstack/django-app-1/gunicorn.sock",
        "VPC 10.50.0.0/16",
        # issue 15: the observability resources
        "CloudWatch (observability)",
        "nginx-access, nginx-error, gunicorn, bootstrap",
        "SNS topic",
        "latency-p99",
        "S3 ALB access logs",
    ):
        assert needle in text, needle


def test_dev_svg_names_the_nginx_edge(webstack, tmp_path: Path) -> None:
    out = tmp_path / "dev.svg"
    assert webstack("diagram", "--stack", "dev", "--project", ROOT, "--out", out).code == 0
    text = svg_text(out)
    for needle in ("Internet", "flask-app", "Nginx :443 TLS", "self-signed", "Elastic IP"):
        assert needle in text, needle


def test_every_app_of_a_mixed_stack_and_png(webstack, tmp_path: Path, mixed_stack: Path) -> None:
    svg = tmp_path / "mixed.svg"
    args = ("--stack-file", mixed_stack, "--project", ROOT)
    assert webstack("diagram", *args, "--out", svg).code == 0
    text = svg_text(svg)
    for needle in ("shop", "reports", "backoffice", "caddy :80", "iis :80", "Waitress 2"):
        assert needle in text, needle
    png = tmp_path / "mixed.png"
    assert webstack("diagram", *args, "--out", png).code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_format_is_refused(webstack, tmp_path: Path) -> None:
    result = webstack("diagram", "--stack", "dev", "--project", ROOT, "--out", tmp_path / "x.gif")
    assert result.code == 2 and ".svg" in result.err
