"""The observability part of `webstack diagram`: log groups, alarms, topic, dashboard, ALB logs.

Drawn from the spec and the same plan functions the components use (observability_plan), so
the picture names the streams, alarms and settings a deploy creates.
"""

from __future__ import annotations

from collections.abc import Callable

from components.plan.observability import app_alarms, log_groups, stack_alarms
from components.spec.stack import StackSpec


def observability_lines(
    spec: StackSpec,
    line: Callable[[str], None],
    edge: Callable[[str, str, str], None],
    quote: Callable[[str], str],
    app_node: Callable[[str], str],
) -> None:
    """Emit the CloudWatch cluster and its edges (nothing when observability is off)."""
    obs = spec.observability
    if not obs.enabled:
        return
    line('  subgraph cluster_observability { label="CloudWatch (observability)"; style=dashed;')
    for app in spec.apps:
        node = f"obs_logs_{app.name.replace('-', '_')}"
        label = "\n".join(
            [
                f"log groups {app.name} ({obs.retention_days} days"
                + (", KMS)" if obs.kms_key_arn else ")"),
                ", ".join(log_groups(app)),
            ]
        )
        line(f'    {node} [label={quote(label)}, fillcolor="#fff8e1"];')
        edge(app_node(app.name), node, "CloudWatch agent: logs, memory, disk")
    keys = [a.key for a in stack_alarms(spec)]
    for app in spec.apps:
        keys += [f"{app.name} {a.key}" for a in app_alarms(spec, app, "/p")]
    alarm_label = f"{len(keys)} alarms\n" + "\n".join(keys)
    line(f'    obs_alarms [label={quote(alarm_label)}, fillcolor="#fce8e6"];')
    topic = "SNS topic" + (f"\ne-mail {obs.alarm_email}" if obs.alarm_email else "")
    line(f'    obs_topic [label={quote(topic)}, fillcolor="#fce8e6"];')
    edge("obs_alarms", "obs_topic", "ALARM / OK")
    line(
        '    obs_dashboard [label="dashboard\\nrequests, 5xx, latency p50/p90/p99,\\n'
        'healthy hosts, CPU, memory, 5xx clients", fillcolor="#e8f0fe"];'
    )
    if spec.edge.mode == "alb" and obs.access_logs_on(spec.production):
        label = f"S3 ALB access logs\nSSE-S3, expire after {obs.access_log_days} days"
        line(f'    obs_access_logs [label={quote(label)}, fillcolor="#fff8e1"];')
        edge("alb", "obs_access_logs", "access logs")
    line("  }")
