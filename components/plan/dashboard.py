"""The CloudWatch dashboard of one environment, as a pure function of plain values (no Pulumi).

Body structure per "Dashboard Body Structure and Syntax" (CloudWatch API Reference,
CloudWatch-Dashboard-Body-Structure.html): `widgets` of type metric/log/text on a 24-column grid,
each metric a `[namespace, name, dim, value, ..., {options}]` array or an `{expression}` object.
"""

from __future__ import annotations

from dataclasses import dataclass

from components.plan.observability import agent_metrics, log_group_name, metrics_namespace
from components.spec.stack import StackSpec

ELB = "AWS/ApplicationELB"
WIDTH, HEIGHT = 12, 6
# The log query the runbook starts from: which clients got 5xx, and how slow (fields of the JSON
# access log of templates/linux/nginx.conf.j2, discovered by Logs Insights).
CLIENTS_5XX_QUERY = (
    "fields @timestamp, client, status, request_time, uri"
    " | filter status >= 500"
    " | stats count(*) as errors, max(request_time) as slowest, pct(request_time, 99) as p99"
    " by client"
    " | sort errors desc | limit 20"
)


@dataclass(frozen=True)
class AppRefs:
    """What the cloud knows about one app: its log prefix and where its metrics live."""

    name: str
    prefix: str
    os: str
    target_group: str | None = None  # TargetGroup dimension (arn_suffix), ALB stacks
    asg: str | None = None
    instance: str | None = None


# long: the dashboard's widgets in display order, one block per widget.
def dashboard_body(
    spec: StackSpec, region: str, load_balancer: str | None, apps: list[AppRefs]
) -> dict:
    """Requests, 5xx, latency percentiles, healthy hosts, CPU, memory; a 5xx log query per app."""
    widgets: list[dict] = []
    # By name, never config order: reordering apps must not change the dashboard (faithful diff).
    apps = sorted(apps, key=lambda a: a.name)

    def add(title: str, metrics: list, stat: str = "Sum", kind: str = "metric") -> None:
        n = len(widgets)
        props = {"title": title, "region": region, "view": "timeSeries", "period": 60}
        props.update({"metrics": metrics, "stat": stat, "stacked": False})
        widgets.append(
            {
                "type": kind,
                "x": (n % 2) * WIDTH,
                "y": (n // 2) * HEIGHT,
                "width": WIDTH,
                "height": HEIGHT,
                "properties": props,
            }
        )

    routed = [a for a in apps if a.target_group] if load_balancer else []
    if load_balancer:
        lb = ["LoadBalancer", load_balancer]
        add(
            "Requests",
            [
                [ELB, "RequestCount", *lb, "TargetGroup", a.target_group, {"label": a.name}]
                for a in routed
            ],
        )
        add(
            "5xx",
            [[ELB, "HTTPCode_ELB_5XX_Count", *lb, {"label": "ALB 5xx"}]]
            + [
                [
                    ELB,
                    "HTTPCode_Target_5XX_Count",
                    *lb,
                    "TargetGroup",
                    a.target_group,
                    {"label": f"{a.name} 5xx"},
                ]
                for a in routed
            ],
        )
        add(
            "Target response time (s)",
            [
                [
                    ELB,
                    "TargetResponseTime",
                    *lb,
                    "TargetGroup",
                    a.target_group,
                    {"stat": p, "label": f"{a.name} {p}"},
                ]
                for a in routed
                for p in ("p50", "p90", "p99")
            ],
            stat="p99",
        )
        add(
            "Healthy / unhealthy hosts",
            [
                [ELB, metric, *lb, "TargetGroup", a.target_group, {"label": f"{a.name} {word}"}]
                for a in routed
                for metric, word in (
                    ("HealthyHostCount", "healthy"),
                    ("UnHealthyHostCount", "unhealthy"),
                )
            ],
            stat="Minimum",
        )
    add("CPU %", [_host_metric("AWS/EC2", "CPUUtilization", a) for a in apps], stat="Maximum")
    add(
        "Memory %",
        [
            [metrics_namespace(a.prefix), agent_metrics(a.os)["memory"].name, {"label": a.name}]
            for a in apps
        ],
        stat="Maximum",
    )
    for a in apps:
        if a.os != "linux":
            continue
        n = len(widgets)
        widgets.append(
            {
                "type": "log",
                "x": (n % 2) * WIDTH,
                "y": (n // 2) * HEIGHT,
                "width": WIDTH,
                "height": HEIGHT,
                "properties": {
                    "title": f"{a.name}: clients with 5xx",
                    "region": region,
                    "view": "table",
                    "query": f"SOURCE '{log_group_name(a.prefix, 'nginx-access')}' | "
                    + CLIENTS_5XX_QUERY,
                },
            }
        )
    return {"widgets": widgets}


def _host_metric(namespace: str, name: str, app: AppRefs) -> list:
    if app.asg:
        return [namespace, name, "AutoScalingGroupName", app.asg, {"label": app.name}]
    return [namespace, name, "InstanceId", app.instance or "", {"label": app.name}]


def dashboard_name(environment: str, scope_hash: str) -> str:
    """Dashboard names: A-Z a-z 0-9 - _ only, at most 255 (PutDashboard `DashboardName`); unique
    per account and region, so the project/stack hash goes in."""
    return f"webstack-{environment}-{scope_hash}"


def dashboard_url(region: str, name: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#dashboards:name={name}"
    )
