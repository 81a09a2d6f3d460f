"""Issue 15: logs, metrics, alarms, dashboard and ALB access logs, under mocks and validated.

The agent config is the one the VM receives (read back out of the rendered user data) and is
validated against the agent's own published JSON schema (tests/data/cloudwatch); the dashboard
body the mocks record is checked against CloudWatch's dashboard body structure.
"""

from __future__ import annotations

import functools
import json
import tempfile
from pathlib import Path

import jsonschema
import pytest
import yaml

from components.plan.access_logs import (
    ELB_LOG_DELIVERY,
    access_log_bucket_policy,
    elb_log_principal,
)
from components.plan.checks import parse_stack_spec
from components.plan.iam import stack_ssm_prefix as ssm_prefix
from components.plan.linux_layout import vm_layout
from components.plan.observability import agent_config_path, log_groups
from components.plan.tier import plan_tier
from components.render.common import CloudRefs
from components.render.linux import render_linux_user_data
from components.spec.errors import SpecError
from components.spec.observability import RETENTION_DAYS
from components.spec.stack import StackSpec
from components.tooling.mocks import RecordedResource, build_webstack, run_under_mocks
from tests.helpers.dashboard import dashboard_problems
from tests.helpers.specs import shipped_spec, shipped_stacks

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests/data/cloudwatch/agent-schema.json").read_text())
SHIPPED = shipped_stacks()
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def shipped_with_secrets(name: str) -> tuple[StackSpec, dict]:
    spec, names = shipped_spec(name)
    return spec, {app: {k: f"v-{k}" for k in keys} for app, keys in names.items()}


@functools.cache
def recorded(name: str, off: bool = False) -> tuple[list[RecordedResource], dict]:
    spec, secrets = shipped_with_secrets(name)
    if off:
        spec = spec.model_copy(
            update={"observability": spec.observability.model_copy(update={"enabled": False})}
        )
    build = build_webstack(spec, secrets, ROOT, Path(tempfile.mkdtemp(prefix="webstack-build-")))
    result = run_under_mocks(build, stack=name)
    return result[0].resources, result[1]


def of_type(resources: list[RecordedResource], t: str) -> list[RecordedResource]:
    return [r for r in resources if r.type == t]


def agent_errors(config: dict) -> list[str]:
    validator = jsonschema.Draft4Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(config)]


# -- the agent config: the bytes of the user data, against the agent's schema ------------------
def linux_agent_config(spec: StackSpec, app_name: str) -> dict:
    app = next(a for a in spec.apps if a.name == app_name)
    layout = vm_layout(app.linux.family)
    refs = CloudRefs(
        "eu-west-1",
        "b",
        "apps/x.tar.gz",
        ssm_prefix(spec.environment, app.name),
        "-----BEGIN CERTIFICATE-----\n",
    )
    user_data = yaml.safe_load(render_linux_user_data(plan_tier(spec, app), app, layout, refs))
    files = {f["path"]: f["content"] for f in user_data["write_files"]}
    return json.loads(files[str(agent_config_path(layout))])


@pytest.mark.parametrize("name", SHIPPED)
def test_every_linux_agent_config_in_the_user_data_passes_the_agents_schema(name: str) -> None:
    spec, _ = shipped_spec(name)
    linux = [a for a in spec.apps if a.os == "linux"]
    assert linux
    for app in linux:
        config = linux_agent_config(spec, app.name)
        assert agent_errors(config) == [], f"{name}/{app.name}"
        groups = {
            f["log_group_name"] for f in config["logs"]["logs_collected"]["files"]["collect_list"]
        }
        journald = config["logs"]["logs_collected"]["journald"]["collect_list"]
        units = {u for j in journald for u in j["units"]}
        assert units == {
            f"webstack-{app.name}@{m}.service"
            for m in range(1, max(2, app.linux.gunicorn.masters) + 1)
        }, "every release slot's journal (a release starts on the idle slot)"
        groups |= {j["log_group_name"] for j in journald}
        prefix = ssm_prefix(spec.environment, app.name)
        assert groups == {f"{prefix}/{s}" for s in log_groups(app)}, "one group per stream"


def test_the_windows_agent_config_passes_the_agents_schema() -> None:
    """Read back out of the rendered Windows host files (the bootstrap carries them)."""
    from components.plan.observability import windows_agent_config_path
    from components.plan.sizing import waitress_instances
    from components.plan.windows_layout import vm_windows_layout
    from components.render.windows import render_windows_host

    spec, _ = shipped_spec("staging")
    layout = vm_windows_layout()
    for app in (a for a in spec.apps if a.os == "windows"):
        for proxy in ("iis", "nginx", "caddy"):
            tier = app.windows.model_copy(update={"proxy": proxy})
            variant = app.model_copy(update={"windows": tier})
            refs = CloudRefs("eu-west-1", "b", "k", ssm_prefix("staging", app.name))
            files = render_windows_host(plan_tier(spec, variant), variant, layout, refs)
            text = files[str(windows_agent_config_path(layout, app.name))]
            assert text in files[str(layout.bootstrap_path(app.name))], "the bootstrap writes it"
            config = json.loads(text)
            assert agent_errors(config) == [], proxy
            collected = config["logs"]["logs_collected"]
            paths = [f["file_path"] for f in collected["files"]["collect_list"]]
            for n in range(1, waitress_instances(tier) + 1):
                assert any(f"{app.name}-waitress-{n}.out.log" in p for p in paths)
            assert {e["event_name"] for e in collected["windows_events"]["collect_list"]} == {
                "System",
                "Application",
            }


@pytest.mark.parametrize(
    "breakage",
    [
        lambda c: c["logs"]["logs_collected"]["files"]["collect_list"][0].pop("file_path"),
        lambda c: c["logs"]["logs_collected"]["journald"]["collect_list"][0].update(units=[]),
        lambda c: c["logs"]["logs_collected"]["files"]["collect_list"][0].update(
            retention_in_days=31
        ),
        lambda c: c["metrics"].pop("metrics_collected"),
        lambda c: c["logs"]["logs_collected"].update(syslog={}),
    ],
)
def test_the_schema_check_can_fail(breakage) -> None:
    spec, _ = shipped_spec("dev")
    config = linux_agent_config(spec, spec.apps[0].name)
    breakage(config)
    assert agent_errors(config), "the schema accepted a broken agent config"


def test_the_access_log_is_json_with_client_and_timing() -> None:
    spec, _ = shipped_spec("dev")
    app = spec.apps[0]
    layout = vm_layout(app.linux.family)
    refs = CloudRefs(
        "eu-west-1", "b", "k", ssm_prefix("dev", app.name), "-----BEGIN CERTIFICATE-----\n"
    )
    files = {
        f["path"]: f["content"]
        for f in yaml.safe_load(render_linux_user_data(plan_tier(spec, app), app, layout, refs))[
            "write_files"
        ]
    }
    conf = files[str(layout.staged_nginx_conf())]
    assert "log_format webstack_json escape=json" in conf
    for field in ('"client":"$remote_addr"', '"status":$status', '"request_time":$request_time'):
        assert field in conf
    assert "access.log webstack_json buffer=64k flush=1s;" in conf


# -- under mocks ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SHIPPED)
def test_log_groups_alarms_topic_and_dashboard_exist(name: str) -> None:
    resources, outputs = recorded(name)
    spec, _ = shipped_spec(name)
    groups = of_type(resources, LOG_GROUP)
    assert {g.inputs["name"] for g in groups} == {
        f"{ssm_prefix(spec.environment, a.name, stack=name)}/{s}"
        for a in spec.apps
        for s in log_groups(a)
    }
    assert all(g.inputs["retentionInDays"] == spec.observability.retention_days for g in groups)
    assert len(of_type(resources, "aws:sns/topic:Topic")) == 1, "one topic per environment"
    (board,) = of_type(resources, "aws:cloudwatch/dashboard:Dashboard")
    assert dashboard_problems(board.inputs["dashboardBody"]) == []
    assert outputs["dashboard_url"].endswith(board.inputs["dashboardName"])
    topic = of_type(resources, "aws:sns/topic:Topic")[0].outputs["arn"]
    alarms = of_type(resources, ALARM)
    assert alarms and all(a.inputs["alarmActions"] == [topic] for a in alarms)


@pytest.mark.parametrize("name", [n for n in SHIPPED if n != "dev"])
def test_alarm_dimensions_are_the_stacks_own_load_balancer_groups_and_asgs(name: str) -> None:
    resources, _ = recorded(name)
    (lb,) = of_type(resources, "aws:lb/loadBalancer:LoadBalancer")
    tgs = {r.outputs["arnSuffix"] for r in of_type(resources, "aws:lb/targetGroup:TargetGroup")}
    asgs = {r.outputs["name"] for r in of_type(resources, "aws:autoscaling/group:Group")}
    seen = {"LoadBalancer": set(), "TargetGroup": set(), "AutoScalingGroupName": set()}
    for alarm in of_type(resources, ALARM):
        dims = [alarm.inputs.get("dimensions") or {}]
        dims += [
            q["metric"].get("dimensions", {})
            for q in alarm.inputs.get("metricQueries", [])
            if q.get("metric")
        ]
        for d in dims:
            for key, value in d.items():
                seen.setdefault(key, set()).add(value)
    assert seen["LoadBalancer"] == {lb.outputs["arnSuffix"]}, "an alarm watches another LB"
    assert seen["TargetGroup"] == tgs, "each target group alarmed, none foreign"
    assert seen["AutoScalingGroupName"] == asgs
    # The ASG publishes the in-service metric the alarm reads only when asked to.
    assert all(
        "GroupInServiceInstances" in g.inputs["enabledMetrics"]
        for g in of_type(resources, "aws:autoscaling/group:Group")
    )


def test_latency_alarm_follows_the_request_timeout() -> None:
    resources, _ = recorded("prod")
    spec, _ = shipped_spec("prod")
    (p99,) = [a for a in of_type(resources, ALARM) if a.inputs.get("extendedStatistic") == "p99"]
    pct = spec.observability.thresholds.latency_p99_percent_of_timeout
    assert p99.inputs["threshold"] == pytest.approx(spec.request_timeout * pct / 100)


def test_production_stacks_write_alb_access_logs_to_an_sse_s3_bucket() -> None:
    resources, outputs = recorded("prod")
    (lb,) = of_type(resources, "aws:lb/loadBalancer:LoadBalancer")
    logs = lb.inputs["accessLogs"]
    assert logs["enabled"] and logs["bucket"] == outputs["access_logs_bucket"]
    assert "AWSLogs" not in logs["prefix"], "ELB adds AWSLogs/ itself and refuses it in the prefix"
    bucket = next(
        r
        for r in of_type(resources, "aws:s3/bucket:Bucket")
        if r.outputs["bucket"] == logs["bucket"]
    )
    sse = [
        r
        for r in of_type(
            resources,
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        )
        if r.inputs["bucket"] == bucket.id
    ]
    algo = sse[0].inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
    assert algo == "AES256", "ELB access logs support only SSE-S3"
    policy = next(
        json.loads(r.inputs["policy"])
        for r in of_type(resources, "aws:s3/bucketPolicy:BucketPolicy")
        if r.inputs["bucket"] == bucket.id
    )
    put = next(s for s in policy["Statement"] if s["Action"] == "s3:PutObject")
    assert put["Principal"] == {"AWS": "arn:aws:iam::156460612806:root"}, "eu-west-1's ELB account"
    assert put["Resource"].endswith(f"/{logs['prefix']}/AWSLogs/123456789012/*")


def test_non_production_alb_stacks_keep_access_logs_off_by_default() -> None:
    resources, outputs = recorded("staging")
    (lb,) = of_type(resources, "aws:lb/loadBalancer:LoadBalancer")
    assert not lb.inputs.get("accessLogs") and outputs["access_logs_bucket"] is None


@pytest.mark.parametrize("name", SHIPPED)
def test_one_setting_turns_everything_off(name: str) -> None:
    resources, outputs = recorded(name, off=True)
    kinds = {r.type for r in resources}
    assert not kinds & {
        LOG_GROUP,
        ALARM,
        "aws:sns/topic:Topic",
        "aws:cloudwatch/dashboard:Dashboard",
    }
    assert outputs["dashboard_url"] is None
    for policy in of_type(resources, "aws:iam/rolePolicy:RolePolicy"):
        assert "logs:" not in policy.inputs["policy"]


# -- the log-delivery principal, by region -------------------------------------------------------
@pytest.mark.parametrize(
    ("region", "principal"),
    [
        ("us-east-1", {"AWS": "arn:aws:iam::127311923021:root"}),
        ("eu-west-1", {"AWS": "arn:aws:iam::156460612806:root"}),
        ("ap-southeast-3", {"AWS": "arn:aws:iam::589379963580:root"}),
        ("ap-southeast-4", {"Service": ELB_LOG_DELIVERY}),  # Melbourne, 2023
        ("il-central-1", {"Service": ELB_LOG_DELIVERY}),  # Tel Aviv, 2023
        ("mx-central-1", {"Service": ELB_LOG_DELIVERY}),  # Mexico, 2025
    ],
)
def test_elb_log_principal_by_region(region: str, principal: dict) -> None:
    assert elb_log_principal(region) == principal
    policy = access_log_bucket_policy("arn:aws:s3:::b", "123456789012", region, "aws")
    assert policy["Statement"][0]["Principal"] == principal


# -- config errors -------------------------------------------------------------------------------
BASE = {
    "environment": "dev",
    "apps": [{"name": "a", "framework": "flask", "wsgi": "app:app"}],
    "edge": {"mode": "nginx"},
}


@pytest.mark.parametrize(
    ("observability", "expected"),
    [
        ({"retention_days": 31}, "observability.retention_days"),
        ({"retention_days": "30"}, "observability.retention_days"),
        ({"kms_key_arn": "alias/aws/logs"}, "observability.kms_key_arn"),
        ({"alarm_email": "not-an-address"}, "observability.alarm_email"),
        ({"thresholds": {"memory_percent": 101}}, "observability.thresholds.memory_percent"),
        ({"enable": False}, "observability.enable"),
        ({"access_logs": True}, "observability.access_logs"),  # an Nginx-edge stack
        ({"enabled": False, "access_logs": True}, "observability"),
    ],
)
def test_bad_observability_settings_are_one_line_errors(observability: dict, expected: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_stack_spec({**BASE, "observability": observability})
    (line,) = err.value.problems
    assert expected in line and "\n" not in line


def test_retention_values_are_cloudwatchs_and_default_to_30() -> None:
    spec = parse_stack_spec(BASE)
    assert spec.observability.retention_days == 30 and 30 in RETENTION_DAYS
    for days in RETENTION_DAYS:
        parse_stack_spec({**BASE, "observability": {"retention_days": days}})
    assert set(RETENTION_DAYS) == set(
        SCHEMA["definitions"]["logsDefinition"]["definitions"]["retentionInDaysDefinition"]["enum"]
    ) - {-1}


def test_the_bootstrap_installs_only_a_verified_agent_package() -> None:
    """Debian/Ubuntu: the .deb's GPG signature is checked against AWS's published key
    fingerprint before dpkg sees it; the stand-in only ever runs when the rehearsal asks."""
    spec, _ = shipped_spec("dev")
    app = spec.apps[0]
    layout = vm_layout(app.linux.family)
    refs = CloudRefs(
        "eu-west-1", "b", "k", ssm_prefix("dev", app.name), "-----BEGIN CERTIFICATE-----\n"
    )
    files = {
        f["path"]: f["content"]
        for f in yaml.safe_load(render_linux_user_data(plan_tier(spec, app), app, layout, refs))[
            "write_files"
        ]
    }
    script = next(
        c for p, c in files.items() if p.endswith(f"bootstrap-{app.name}.sh")
    ).splitlines()
    at = {
        key: next(i for i, line in enumerate(script) if key in line)
        for key in (
            "937616F3450B7D806CBD9725D58167303B789C72",
            "gpg --batch --verify",
            "dpkg -i",
            "fetch-config",
        )
    }
    assert (
        at["937616F3450B7D806CBD9725D58167303B789C72"]
        < at["gpg --batch --verify"]
        < at["dpkg -i"]
        < at["fetch-config"]
    )
    assert f"file:{agent_config_path(layout)}" in script[at["fetch-config"]]
    standin = [line for line in script if "WEBSTACK_CWAGENT_STANDIN" in line]
    assert standin and all(
        "${WEBSTACK_CWAGENT_STANDIN:-}" in line
        or "echo" in line
        or line.strip().startswith('"$WEBSTACK')
        for line in standin
    )
