"""Pure observability decisions (no Pulumi): log groups, agent config, alarms, ALB log delivery.

One prefix per app, the app's SSM prefix (`/webstack/<project>/<stack>/<owner>/<app>`, from
`iam_plan`), names its log groups and (without the leading slash) its agent metrics namespace, so
the agent config the VM receives, the log groups Pulumi creates and the instance role's scope
cannot disagree, and no two apps, stacks or projects share a group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath
from typing import Literal

from components.plan.linux_layout import HostLayout
from components.plan.sizing import waitress_instances
from components.plan.windows_layout import WindowsHostLayout, service_name
from components.spec.observability import ObservabilitySpec
from components.spec.stack import AppSpec, StackSpec

# Agent variables in log stream names (CloudWatch agent docs, "Manually create or edit the
# CloudWatch agent configuration file", logs section: {instance_id}, {hostname}, {ip_address}).
STREAM = "{instance_id}"
LINUX_STREAMS = ("nginx-access", "nginx-error", "gunicorn", "bootstrap")
WINDOWS_STREAMS = ("waitress", "proxy", "bootstrap", "events")
# Windows event logs worth shipping: service crashes (Service Control Manager) and app errors.
WINDOWS_EVENTS = ("System", "Application")
WINDOWS_EVENT_LEVELS = ("CRITICAL", "ERROR", "WARNING")
# IIS writes W3C logs per site under inetpub (IIS default `logFile directory`).
IIS_LOGS = PurePath("C:/inetpub/logs/LogFiles/W3SVC1/u_ex*.log")


def log_groups(app: AppSpec) -> tuple[str, ...]:
    """The stream names (one log group each) of an app's VMs."""
    return WINDOWS_STREAMS if app.os == "windows" else LINUX_STREAMS


def log_group_name(prefix: str, stream: str) -> str:
    """`<app prefix>/<stream>`: log group names allow [.-_/#A-Za-z0-9], 1..512 (CloudWatch Logs
    API Reference, CreateLogGroup `logGroupName`)."""
    return f"{prefix.rstrip('/')}/{stream}"


def metrics_namespace(prefix: str) -> str:
    """The app's agent metrics namespace (no leading slash; `AWS/` is reserved: PutMetricData)."""
    return prefix.strip("/")


def telemetry_scope(obs: ObservabilitySpec, prefix: str) -> tuple[str, str] | None:
    """(log group prefix, metrics namespace) the instance role may write; None when off."""
    if not obs.enabled:
        return None
    return prefix, metrics_namespace(prefix)


@dataclass(frozen=True)
class AgentMetric:
    """One agent metric an alarm and the dashboard read, named as the agent publishes it."""

    name: str
    breach_above: bool  # memory used % rises; Windows' "% Free Space" falls


def agent_metrics(os: str) -> dict[str, AgentMetric]:
    """memory/disk as the agent names them: `<section>_<measurement>` on Linux,
    `<object> <counter>` on Windows (CloudWatch agent docs, "Metrics collected by the agent")."""
    if os == "windows":
        return {
            "memory": AgentMetric("Memory % Committed Bytes In Use", True),
            "disk": AgentMetric("LogicalDisk % Free Space", False),
        }
    return {
        "memory": AgentMetric("mem_used_percent", True),
        "disk": AgentMetric("disk_used_percent", True),
    }


def _metrics_section(app: AppSpec, prefix: str) -> dict:
    if app.os == "windows":
        collected: dict = {
            "Memory": {"measurement": ["% Committed Bytes In Use"]},
            "LogicalDisk": {"measurement": ["% Free Space"], "resources": ["C:"]},
        }
    else:
        collected = {
            "mem": {"measurement": ["used_percent"]},
            "disk": {"measurement": ["used_percent"], "resources": ["/"], "drop_device": True},
        }
    return {
        "namespace": metrics_namespace(prefix),
        # InstanceId from IMDS (no ec2:DescribeTags needed); [[]] also publishes one series per
        # app without dimensions, which the alarms read across all of the app's instances.
        "append_dimensions": {"InstanceId": "${aws:InstanceId}"},
        "aggregation_dimensions": [[]],
        "metrics_collected": collected,
    }


def _file(path: PurePath | str, prefix: str, stream: str, suffix: str = "") -> dict:
    return {
        "file_path": str(path),
        "log_group_name": log_group_name(prefix, stream),
        "log_stream_name": STREAM + suffix,
        "timezone": "UTC",
    }


def linux_agent_config(app: AppSpec, layout: HostLayout, prefix: str, region: str) -> dict:
    """The CloudWatch agent config of a Linux VM (validated against the agent's schema)."""
    files = [
        _file(layout.nginx_log_dir / "access.log", prefix, "nginx-access"),
        _file(layout.nginx_log_dir / "error.log", prefix, "nginx-error"),
        _file(layout.log_dir / "bootstrap.log", prefix, "bootstrap"),
    ]
    # The agent reads the journal itself (`logs_collected.journald`, agent >= 1.300070.0), so
    # each Gunicorn master's journal keeps going to journald and reaches CloudWatch too. Every
    # release slot (at least two: a release starts beside the serving one) has its own stream.
    journald = [
        {
            "log_group_name": log_group_name(prefix, "gunicorn"),
            "log_stream_name": f"{STREAM}-master-{m}",
            "units": [f"webstack-{app.name}@{m}.service"],
        }
        for m in range(1, max(2, app.linux.gunicorn.masters) + 1)
    ]
    return {
        "agent": {"metrics_collection_interval": 60, "omit_hostname": True, "region": region},
        "metrics": _metrics_section(app, prefix),
        "logs": {
            "logs_collected": {
                "files": {"collect_list": files},
                "journald": {"collect_list": journald},
            },
            "force_flush_interval": 5,
        },
    }


def windows_agent_config(
    app: AppSpec, layout: WindowsHostLayout, prefix: str, region: str, proxy_service: str
) -> dict:
    """The CloudWatch agent config of a Windows VM: every Waitress service's log folder, the
    proxy's logs, the bootstrap transcript and the System/Application event logs."""
    files = []
    for n in range(1, waitress_instances(app.windows) + 1):
        svc = service_name(app.name, n)
        for kind in ("out", "err"):
            path = layout.service_log_dir(app.name, svc) / f"{svc}.{kind}.log"
            files.append(_file(path, prefix, "waitress", f"-{svc}-{kind}"))
    proxy = app.windows.proxy
    if proxy == "iis":
        files.append(_file(IIS_LOGS, prefix, "proxy", "-iis"))
    else:
        proxy_dir = layout.service_log_dir(app.name, proxy_service)
        names = ["nginx-access", "nginx-error"] if proxy == "nginx" else ["caddy-access"]
        names += [f"{proxy_service}.out", f"{proxy_service}.err"]
        files += [_file(proxy_dir / f"{n}.log", prefix, "proxy", f"-{n}") for n in names]
    files.append(_file(layout.log_dir(app.name) / "bootstrap.log", prefix, "bootstrap"))
    events = [
        {
            "event_name": event,
            "event_levels": list(WINDOWS_EVENT_LEVELS),
            "log_group_name": log_group_name(prefix, "events"),
            "log_stream_name": f"{STREAM}-{event}",
            "event_format": "text",
        }
        for event in WINDOWS_EVENTS
    ]
    return {
        "agent": {"metrics_collection_interval": 60, "omit_hostname": True, "region": region},
        "metrics": _metrics_section(app, prefix),
        "logs": {
            "logs_collected": {
                "files": {"collect_list": files},
                "windows_events": {"collect_list": events},
            },
            "force_flush_interval": 5,
        },
    }


def agent_log_paths(config: dict) -> list[str]:
    """Every file an agent config names (what the boot rehearsal checks receives lines)."""
    files = config["logs"]["logs_collected"].get("files", {}).get("collect_list", [])
    return [f["file_path"] for f in files]


# -- alarms --------------------------------------------------------------------------------------
Dimension = Literal["lb", "tg", "asg", "instance"]
Comparison = Literal["GreaterThanThreshold", "LessThanThreshold"]


@dataclass(frozen=True)
class MetricRef:
    """One metric of an alarm or widget; dimension values are symbols the component resolves."""

    id: str
    namespace: str
    name: str
    stat: str
    dimensions: tuple[tuple[str, Dimension], ...] = ()


@dataclass(frozen=True)
class AlarmPlan:
    key: str  # stable logical-name suffix
    description: str
    metrics: tuple[MetricRef, ...]
    threshold: float
    comparison: Comparison
    minutes: int
    expression: str | None = None  # metric math over `metrics` (ids) when set
    missing: Literal["notBreaching", "breaching", "missing"] = "notBreaching"
    tags: dict[str, str] = field(default_factory=dict)


LB = (("LoadBalancer", "lb"),)
LB_TG = (("LoadBalancer", "lb"), ("TargetGroup", "tg"))


def _rate(key: str, what: str, errors: MetricRef, total: MetricRef, pct: int, minutes: int):
    return AlarmPlan(
        key=key,
        description=f"{what} above {pct}% of requests for {minutes} min",
        metrics=(errors, total),
        # FILL(.., 0): a minute with no 5xx has no datapoint (ELB publishes counts only when
        # non-zero: Application Load Balancer Guide, "CloudWatch metrics for your ALB").
        expression=f"100 * FILL({errors.id}, 0) / {total.id}",
        threshold=pct,
        comparison="GreaterThanThreshold",
        minutes=minutes,
    )


def stack_alarms(spec: StackSpec) -> list[AlarmPlan]:
    """Alarms on the whole load balancer (ALB stacks only)."""
    if spec.edge.mode != "alb":
        return []
    t = spec.observability.thresholds
    elb = "AWS/ApplicationELB"
    return [
        _rate(
            "alb-5xx",
            "ALB-generated 5xx",
            MetricRef("errors", elb, "HTTPCode_ELB_5XX_Count", "Sum", LB),
            MetricRef("requests", elb, "RequestCount", "Sum", LB),
            t.alb_5xx_percent,
            t.minutes,
        )
    ]


# long: the app's alarms in one list, one block per alarm.
def app_alarms(spec: StackSpec, app: AppSpec, prefix: str) -> list[AlarmPlan]:
    """An app's alarms: target 5xx rate, unhealthy hosts, p99 latency against its request
    timeout, in-service below the minimum, status checks, agent memory and disk."""
    t = spec.observability.thresholds
    elb = "AWS/ApplicationELB"
    alarms: list[AlarmPlan] = []
    host: tuple[tuple[str, Dimension], ...]
    if spec.edge.mode == "alb":
        p99 = spec.request_timeout * t.latency_p99_percent_of_timeout / 100
        alarms += [
            _rate(
                "target-5xx",
                f"{app.name}: app 5xx",
                MetricRef("errors", elb, "HTTPCode_Target_5XX_Count", "Sum", LB_TG),
                MetricRef("requests", elb, "RequestCount", "Sum", LB_TG),
                t.target_5xx_percent,
                t.minutes,
            ),
            AlarmPlan(
                "unhealthy-hosts",
                f"{app.name}: a target failed its health check for {t.minutes} min",
                (MetricRef("m", elb, "UnHealthyHostCount", "Maximum", LB_TG),),
                0,
                "GreaterThanThreshold",
                t.minutes,
            ),
            AlarmPlan(
                "latency-p99",
                f"{app.name}: p99 response time above {p99:g}s "
                f"({t.latency_p99_percent_of_timeout}% of request_timeout {spec.request_timeout}s)",
                (MetricRef("m", elb, "TargetResponseTime", "p99", LB_TG),),
                p99,
                "GreaterThanThreshold",
                t.minutes,
            ),
            AlarmPlan(
                "in-service",
                f"{app.name}: fewer in-service instances than the minimum {min_capacity(app)}",
                (
                    MetricRef(
                        "m",
                        "AWS/AutoScaling",
                        "GroupInServiceInstances",
                        "Minimum",
                        (("AutoScalingGroupName", "asg"),),
                    ),
                ),
                min_capacity(app),
                "LessThanThreshold",
                t.minutes,
                # No datapoint at all means no instance reported: breaching.
                missing="breaching",
            ),
        ]
        host = (("AutoScalingGroupName", "asg"),)
    else:
        host = (("InstanceId", "instance"),)
    alarms.append(
        AlarmPlan(
            "status-check",
            f"{app.name}: an instance or system status check failed",
            (MetricRef("m", "AWS/EC2", "StatusCheckFailed", "Maximum", host),),
            0,
            "GreaterThanThreshold",
            2,
        )
    )
    ns = metrics_namespace(prefix)
    for key, limit in (("memory", t.memory_percent), ("disk", t.disk_percent)):
        metric = agent_metrics(app.os)[key]
        alarms.append(
            AlarmPlan(
                key,
                f"{app.name}: {key} use above {limit}% on an instance",
                (MetricRef("m", ns, metric.name, "Maximum" if metric.breach_above else "Minimum"),),
                limit if metric.breach_above else 100 - limit,
                "GreaterThanThreshold" if metric.breach_above else "LessThanThreshold",
                t.minutes,
            )
        )
    return alarms


def min_capacity(app: AppSpec) -> int:
    if app.os == "windows":
        return app.windows.capacity.min
    return app.linux.capacity.min


def windows_agent_installer(region: str) -> tuple[str, str]:
    """(bucket, key) of the agent MSI in AWS's regional agent bucket (CloudWatch User Guide,
    "Download the CloudWatch agent package using the command line": windows/amd64/latest)."""
    return f"amazoncloudwatch-agent-{region}", "windows/amd64/latest/amazon-cloudwatch-agent.msi"


def windows_agent_config_path(layout: WindowsHostLayout, app: str) -> PurePath:
    return layout.conf_dir(app) / "cloudwatch-agent.json"


def agent_config_path(layout: HostLayout) -> PurePosixPath:
    return layout.etc_dir / "cloudwatch-agent.json"
