"""CloudWatch's dashboard body structure as a checker (no AWS call validates it offline).

Source: CloudWatch API Reference, "Dashboard Body Structure and Syntax"
(docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html):
`widgets` is required; each widget needs `type` (metric | text | log | alarm | explorer) and
`properties`; `x` 0..23, `width` 1..24, `height` 1..1000; a metric widget needs `metrics` and
`region`; each metric is `[Namespace, MetricName, (DimensionName, DimensionValue)*, {options}?]`
(a `"..."` or `"."` shorthand repeats the row above) or `[{expression, ...}]`; a log widget
needs `query` and `region`. PutDashboard's `DashboardBody` is at most 1 MB of JSON (CloudWatch
service quotas: "Dashboard body ... 1 MB").
"""

from __future__ import annotations

import json
from typing import Any

WIDGET_TYPES = {"metric", "text", "log", "alarm", "explorer"}
BODY_MAX_BYTES = 1024 * 1024


def _metric_problems(where: str, row: Any) -> list[str]:
    if not isinstance(row, list) or not row:
        return [f"{where}: a metric is a non-empty array"]
    if isinstance(row[0], dict):
        return [] if "expression" in row[0] else [f"{where}: an object row needs `expression`"]
    values = row[:-1] if isinstance(row[-1], dict) else row
    if not all(isinstance(v, str) and v for v in values):
        return [f"{where}: namespace, name and dimensions are non-empty strings: {values}"]
    if len(values) < 2 or len(values) % 2:
        return [f"{where}: [namespace, name, (dim, value)*] has {len(values)} strings"]
    return []


def dashboard_problems(body: dict[str, Any] | str) -> list[str]:
    text = body if isinstance(body, str) else json.dumps(body)
    if len(text.encode()) > BODY_MAX_BYTES:
        return [f"dashboard body is {len(text.encode())} bytes, at most {BODY_MAX_BYTES}"]
    data = json.loads(text)
    widgets = data.get("widgets")
    if not isinstance(widgets, list):
        return ["`widgets` (an array) is required"]
    out: list[str] = []
    for i, w in enumerate(widgets):
        where = f"widgets[{i}]"
        if w.get("type") not in WIDGET_TYPES:
            out.append(f"{where}: type {w.get('type')!r} not in {sorted(WIDGET_TYPES)}")
        props = w.get("properties")
        if not isinstance(props, dict):
            out.append(f"{where}: `properties` is required")
            continue
        if not 0 <= w.get("x", 0) <= 23 or not 1 <= w.get("width", 6) <= 24:
            out.append(f"{where}: x 0..23 and width 1..24 on the 24-column grid")
        if w.get("x", 0) + w.get("width", 6) > 24:
            out.append(f"{where}: x + width passes the 24 columns")
        if not 1 <= w.get("height", 6) <= 1000:
            out.append(f"{where}: height 1..1000")
        if w.get("type") in ("metric", "log") and not props.get("region"):
            out.append(f"{where}: `region` is required")
        if w.get("type") == "metric":
            metrics = props.get("metrics")
            if not isinstance(metrics, list) or not metrics:
                out.append(f"{where}: a metric widget needs `metrics`")
                continue
            for j, row in enumerate(metrics):
                out += _metric_problems(f"{where}.metrics[{j}]", row)
        if w.get("type") == "log" and not props.get("query"):
            out.append(f"{where}: a log widget needs `query`")
    return out
