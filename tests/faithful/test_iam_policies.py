"""The IAM documents the components write: linted by a real linter, and evaluated.

Every role policy, trust policy and bucket policy of every shipped stack (and a stack with two
Linux apps and a Windows app) goes through parliament. The instance roles' effective permissions
(inline policies plus any managed policy attached) are evaluated the way IAM does: each role
reads its own parameters and artifacts, and nothing of another app, environment or project.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest

from components.plan.iam import EC2_MESSAGES_ACTIONS, SESSION_MANAGER_ACTIONS, stack_ssm_prefix
from components.spec.stack import StackSpec
from components.tooling.mocks import RecordedResource, build_webstack, run_under_mocks
from tests.helpers.iam import (
    ROLE,
    SSM_MANAGED_INSTANCE_CORE,
    decide,
    lint,
    parameter_arn,
    policy_documents,
    role_documents,
)
from tests.helpers.specs import sample_app, shipped_spec, shipped_stacks, stack_of

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = shipped_stacks()
MIXED = "mixed"  # two Linux apps whose names share a prefix, and a Windows app, behind one ALB
# A trust policy names a Principal and never a Resource ("IAM JSON policy elements: Resource":
# docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html, "the
# Resource element is not used in role trust policies"). parliament lints identity policies,
# so this one finding is expected there and nowhere else.
TRUST_ONLY_FINDING = "MALFORMED: Statement contains neither Resource nor NotResource"


def _mixed_spec() -> StackSpec:
    return stack_of(
        sample_app("api", hostnames=["api.example.com"], secrets=["TOKEN"]),
        sample_app("api-v2", hostnames=["v2.example.com"], secrets=["TOKEN"]),
        sample_app("win", os="windows", hostnames=["win.example.com"], secrets=["TOKEN"]),
        environment=MIXED,
    )


@functools.cache
def stack(name: str) -> list[RecordedResource]:
    if name == MIXED:
        spec = _mixed_spec()
        secrets = {a.name: {"TOKEN": f"t-{a.name}"} for a in spec.apps}
    else:
        spec, names = shipped_spec(name)
        secrets = {app: {k: f"v-{k}" for k in keys} for app, keys in names.items()}
    build = build_webstack(spec, secrets, ROOT, Path(tempfile.mkdtemp(prefix="webstack-build-")))
    return run_under_mocks(build, stack=name)[0].resources


def roles(resources: list[RecordedResource]) -> dict[str, RecordedResource]:
    """app name -> its instance role (roles are tagged with their app)."""
    return {r.inputs["tags"]["webstack:app"]: r for r in resources if r.type == ROLE}


@pytest.mark.parametrize("name", [*SHIPPED, MIXED])
def test_every_policy_document_passes_parliament(name: str) -> None:
    documents = policy_documents(stack(name))
    assert documents
    for doc_name, (doc, is_trust) in documents.items():
        findings = [f for f in lint(doc) if not (is_trust and f.startswith(TRUST_ONLY_FINDING))]
        assert findings == [], f"{name} {doc_name}: {findings}"


@pytest.mark.parametrize(
    "bad",
    [
        {"Effect": "Allow", "Action": "ssm:GetParamter", "Resource": "*"},  # misspelt action
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:ssm:::parameter/x"},
        {"Effect": "Alow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
    ],
)
def test_parliament_reports_a_bad_document(bad: dict) -> None:
    assert lint({"Version": "2012-10-17", "Statement": [bad]}), f"parliament missed {bad}"


@pytest.mark.parametrize("name", [*SHIPPED, MIXED])
def test_each_role_reads_its_own_parameters_and_artifacts_only(name: str) -> None:
    resources = stack(name)
    by_app = roles(resources)
    assert by_app
    environment = MIXED if name == MIXED else name
    bucket = next(r for r in resources if r.type == "aws:s3/bucket:Bucket").outputs["arn"]
    for app, role in by_app.items():
        docs = role_documents(resources, role)
        own = parameter_arn(f"{stack_ssm_prefix(environment, app, stack=name)}/SECRET")
        assert decide(docs, "ssm:GetParameter", own) == "allow", f"{app} cannot read its secrets"
        assert decide(docs, "s3:GetObject", f"{bucket}/apps/{app}/pkg.tar.gz") == "allow"
        foreign = [
            *(stack_ssm_prefix(environment, other, stack=name) for other in by_app if other != app),
            stack_ssm_prefix(
                "prod" if environment != "prod" else "dev", app
            ),  # another environment
            stack_ssm_prefix(environment, app, project="billing", stack=name),  # another project
            f"/webstack/{environment}/{app}",  # the unscoped path of earlier releases
            "/aws/reference/secretsmanager/db-password",
            "/other-team/db/password",
        ]
        for path in foreign:
            for action in ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"):
                arn = parameter_arn(f"{path}/SECRET")
                assert decide(docs, action, arn) != "allow", f"{app} may {action} {arn}"
        for other in by_app:
            if other != app:
                key = f"{bucket}/apps/{other}/pkg.tar.gz"
                assert decide(docs, "s3:GetObject", key) != "allow", f"{app} reads {key}"


@pytest.mark.parametrize("name", [*SHIPPED, MIXED])
def test_session_manager_works_and_the_deny_outlives_a_broader_policy(name: str) -> None:
    resources = stack(name)
    for app, role in roles(resources).items():
        docs = role_documents(resources, role)
        for action in (*SESSION_MANAGER_ACTIONS, *EC2_MESSAGES_ACTIONS):
            assert decide(docs, action, "*") == "allow", f"{app}: Session Manager needs {action}"
        # Someone attaches the managed SSM policy later: other apps' secrets stay out of reach.
        other = parameter_arn("/webstack/someone/else/SECRET")
        assert decide([*docs, SSM_MANAGED_INSTANCE_CORE], "ssm:GetParameter", other) == "deny"


# "Role policy size cannot exceed 10,240 characters" (aggregate of a role's inline policies,
# whitespace not counted): IAM and AWS STS quotas,
# docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html.
ROLE_INLINE_POLICY_CHARS = 10_240


def inline_policy_problems(resources: list[RecordedResource]) -> list[str]:
    sizes: dict[str, int] = {}
    for r in resources:
        if r.type == "aws:iam/rolePolicy:RolePolicy":
            chars = len("".join(r.inputs["policy"].split()))
            sizes[r.inputs["role"]] = sizes.get(r.inputs["role"], 0) + chars
    return [
        f"{role}: {n} > {ROLE_INLINE_POLICY_CHARS}"
        for role, n in sizes.items()
        if n > ROLE_INLINE_POLICY_CHARS
    ]


@pytest.mark.parametrize("name", [*SHIPPED, MIXED])
def test_inline_role_policies_fit_iams_size_limit(name: str) -> None:
    assert inline_policy_problems(stack(name)) == []


def test_the_size_check_can_fail() -> None:
    big = RecordedResource(
        type="aws:iam/rolePolicy:RolePolicy",
        name="big",
        inputs={"role": "r", "policy": '{"Statement": "' + "x" * ROLE_INLINE_POLICY_CHARS + '"}'},
    )
    assert inline_policy_problems([big])


def test_the_check_sees_the_managed_policy_reading_everything() -> None:
    """The evaluator is able to fail: the role as it was (managed SSM policy attached)."""
    old_role = [SSM_MANAGED_INSTANCE_CORE]
    other_app = parameter_arn(f"{stack_ssm_prefix('prod', 'billing-app')}/DB_PASSWORD")
    assert decide(old_role, "ssm:GetParameter", other_app) == "allow"
    assert decide([], "ssm:GetParameter", other_app) == "implicit-deny"
    wildcard = {"Statement": [{"Effect": "Allow", "Action": "ssm:Get*", "Resource": "*"}]}
    assert decide([wildcard], "ssm:getparameter", other_app) == "allow", "actions ignore case"
    scoped = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "b/a/*"}]}
    assert decide([scoped], "s3:GetObject", "b/a-v2/x") == "implicit-deny", "no prefix overlap"


def _log_arn(group: str, stream: str | None = None) -> str:
    arn = f"arn:aws:logs:eu-west-1:123456789012:log-group:{group}"
    return f"{arn}:log-stream:{stream}" if stream else arn


@pytest.mark.parametrize("name", [*SHIPPED, MIXED])
def test_each_role_ships_logs_and_metrics_only_to_its_own_groups_and_namespace(name: str) -> None:
    """Issue 15: the CloudWatch agent may write its own app's log groups and metrics namespace,
    and nothing of another app, stack or project."""
    resources = stack(name)
    by_app = roles(resources)
    environment = MIXED if name == MIXED else name
    groups = {r.inputs["name"] for r in resources if r.type == "aws:cloudwatch/logGroup:LogGroup"}
    for app, role in by_app.items():
        docs = role_documents(resources, role)
        prefix = stack_ssm_prefix(environment, app, stack=name)
        own = sorted(g for g in groups if g.startswith(prefix + "/"))
        assert own, f"{app} has no log groups"
        for group in own:
            assert decide(docs, "logs:CreateLogStream", _log_arn(group)) == "allow"
            assert decide(docs, "logs:PutLogEvents", _log_arn(group, "i-0abc")) == "allow"
        foreign = [
            *(stack_ssm_prefix(environment, other, stack=name) for other in by_app if other != app),
            stack_ssm_prefix(
                environment, app, stack="other-stack"
            ),  # the same app in another stack
            stack_ssm_prefix(environment, app, project="billing", stack=name),  # another project
            "/aws/lambda/someone",
        ]
        for path in foreign:
            arn = _log_arn(f"{path}/nginx-access", "i-0abc")
            assert decide(docs, "logs:PutLogEvents", arn) != "allow", f"{app} writes {arn}"
        for action in ("logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy"):
            assert decide(docs, action, _log_arn(own[0])) != "allow", f"{app} may {action}"
        namespace = prefix.strip("/")
        put = "cloudwatch:PutMetricData"
        assert decide(docs, put, "*", {"cloudwatch:namespace": namespace}) == "allow"
        for other in (
            "AWS/EC2",
            "CWAgent",
            f"{stack_ssm_prefix(environment, 'zzz', stack=name).strip('/')}",
        ):
            assert decide(docs, put, "*", {"cloudwatch:namespace": other}) != "allow", other


def test_the_condition_check_can_fail() -> None:
    scoped = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": "mine"}},
            }
        ]
    }
    assert (
        decide([scoped], "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "mine"})
        == "allow"
    )
    assert (
        decide([scoped], "cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "x"})
        == "implicit-deny"
    )
    assert decide([scoped], "cloudwatch:PutMetricData", "*") == "implicit-deny"
    odd = {"Statement": [{**scoped["Statement"][0], "Condition": {"StringLike": {"k": "*"}}}]}
    with pytest.raises(NotImplementedError):
        decide([odd], "cloudwatch:PutMetricData", "*")


def test_windows_roles_read_the_agent_installer_and_nothing_else_of_its_bucket() -> None:
    resources = stack(MIXED)
    bucket = "arn:aws:s3:::amazoncloudwatch-agent-eu-west-1"
    msi = f"{bucket}/windows/amd64/latest/amazon-cloudwatch-agent.msi"
    for app, role in roles(resources).items():
        docs = role_documents(resources, role)
        expected = "allow" if app == "win" else "implicit-deny"
        assert decide(docs, "s3:GetObject", msi) == expected, app
        assert decide(docs, "s3:GetObject", f"{bucket}/linux/amd64/latest/x.rpm") != "allow"
        assert decide(docs, "s3:PutObject", msi) != "allow"
