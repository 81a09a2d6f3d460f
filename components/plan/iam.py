"""Pure IAM and parameter-path decisions (no Pulumi): what an app's VMs may read, and where.

One computed SSM prefix per app reaches the Linux bootstrap, the Windows bootstrap (both through
`CloudRefs.ssm_prefix`) and the instance role's policy, so they cannot disagree.

The instance role gets a custom policy instead of `AmazonSSMManagedInstanceCore`: that managed
policy allows `ssm:GetParameter(s)` on `*`, and the `aws/ssm` KMS key decrypts through SSM for
every principal of the account, so any VM could read every app's and every environment's
SecureStrings. Here the role may read its own parameters and artifacts only, and an explicit Deny
on every parameter outside its own path keeps that true even when someone attaches a broader
policy (such as the managed one) to the role later: an explicit Deny wins over any Allow (IAM
policy evaluation logic). A per-stack KMS key would also work but costs per key and month and
still needs the path scoping for apps of one stack. Reading a SecureString encrypted with the
default `aws/ssm` key needs no `kms:` permission: that key's policy lets every principal of the
account decrypt through SSM (`kms:ViaService`), which is why the parameter path alone decides.
"""

from __future__ import annotations

import re
from typing import Any

# Session Manager's own minimal instance policy, "Create a custom IAM role for Session Manager"
# (docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html).
# AWS documents them on Resource "*": ssmmessages actions have no resource types.
SESSION_MANAGER_ACTIONS = (
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
# The agent's message channel for Run Command (older agents also for Session Manager), as in
# AmazonSSMManagedInstanceCore (docs.aws.amazon.com/aws-managed-policy/latest/reference/
# AmazonSSMManagedInstanceCore.html), listed one by one: no wildcard actions in webstack.
EC2_MESSAGES_ACTIONS = (
    "ec2messages:AcknowledgeMessage",
    "ec2messages:DeleteMessage",
    "ec2messages:FailMessage",
    "ec2messages:GetEndpoint",
    "ec2messages:GetMessages",
    "ec2messages:SendReply",
)
# What the CloudWatch agent needs to ship an app's logs into log groups that already exist
# (Pulumi creates them, so no logs:CreateLogGroup / PutRetentionPolicy): Service Authorization
# Reference, Amazon CloudWatch Logs: CreateLogStream and DescribeLogStreams on `log-group`,
# PutLogEvents on `log-stream` (`log-group:<name>:log-stream:<stream>`).
LOG_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents")
# PutMetricData has no resource type (Service Authorization Reference, Amazon CloudWatch), so it
# is granted on "*" and scoped by its `cloudwatch:namespace` condition key to the app's namespace.
PUT_METRIC_DATA = "cloudwatch:PutMetricData"
# Actions granted on Resource "*" because AWS defines them so; every other action is scoped.
RESOURCE_WIDE_ACTIONS = frozenset(
    SESSION_MANAGER_ACTIONS + EC2_MESSAGES_ACTIONS + (PUT_METRIC_DATA,)
)
# Every way to read a parameter's value (Service Authorization Reference, Systems Manager).
PARAMETER_READ_ACTIONS = (
    "ssm:GetParameter",
    "ssm:GetParameterHistory",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
)

# SSM parameter names: a-zA-Z0-9_.- and "/" (docs.aws.amazon.com/systems-manager/latest/userguide/
# sysman-paramstore-su-create.html, "Requirements and constraints for parameter names").
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]+")
SSM_ROOT = "webstack"


def ssm_scope(project: str, stack: str, owner: str) -> str:
    """`/webstack/<project>/<stack>/<owner>`: unique per Pulumi project, stack and component.

    Two projects, two stacks or two WebStacks (owner = the component's name) that share an
    environment name no longer read or overwrite each other's parameters.
    """
    for what, value in (("project", project), ("stack", stack), ("owner", owner)):
        if not _SEGMENT.fullmatch(value):
            raise ValueError(
                f"SSM path: {what} {value!r} may only hold letters, digits, '_', '.' and '-'"
            )
    return f"/{SSM_ROOT}/{project}/{stack}/{owner}"


def ssm_prefix(scope: str, app: str) -> str:
    """The one SSM path of an app's parameters: `<scope>/<app>`."""
    if not _SEGMENT.fullmatch(app):
        raise ValueError(f"SSM path: app {app!r} may only hold letters, digits, '_', '.' and '-'")
    return f"{scope.rstrip('/')}/{app}"


def parameter_arn(partition: str, region: str, account: str, path: str) -> str:
    """ARN of a parameter path (`parameter` followed by the path without its leading slash)."""
    return f"arn:{partition}:ssm:{region}:{account}:parameter/{path.strip('/')}"


def log_groups_arn(partition: str, region: str, account: str, prefix: str) -> str:
    """Every log group under `<prefix>/` and its streams (`*` spans the `:log-stream:` part).

    The slash keeps `api/*` from matching another app `api-v2` (IAM wildcards are plain globs).
    """
    return f"arn:{partition}:logs:{region}:{account}:log-group:{prefix.rstrip('/')}/*"


def telemetry_statements(
    partition: str, region: str, account: str, log_prefix: str, namespace: str
) -> list[dict[str, Any]]:
    """The agent's rights: its own app's log groups and metrics namespace, nothing else."""
    return [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": list(LOG_WRITE_ACTIONS),
            "Resource": log_groups_arn(partition, region, account, log_prefix),
        },
        {
            "Sid": "PutOwnMetrics",
            "Effect": "Allow",
            "Action": [PUT_METRIC_DATA],
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": namespace}},
        },
    ]


# long: the policy document, one block per statement (Sid) as IAM reads it.
def instance_role_policy(
    *,
    bucket_arn: str,
    artifact_prefixes: list[str],
    ssm_prefix: str,
    partition: str,
    region: str,
    account: str,
    telemetry: tuple[str, str] | None = None,
    agent_installer: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The whole permission set of an app's instance role as one IAM policy document.

    `telemetry`: (log group prefix, metrics namespace) when the CloudWatch agent runs.
    """
    own_parameters = parameter_arn(partition, region, account, ssm_prefix) + "/*"
    extra = telemetry_statements(partition, region, account, *telemetry) if telemetry else []
    if agent_installer:
        # Windows fetches the agent MSI with its role (Read-S3Object): this one object only.
        bucket, key = agent_installer
        extra.append(
            {
                "Sid": "ReadAgentInstaller",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": f"arn:{partition}:s3:::{bucket}/{key}",
            }
        )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SessionManager",
                "Effect": "Allow",
                "Action": list(SESSION_MANAGER_ACTIONS),
                "Resource": "*",
            },
            {
                "Sid": "AgentMessages",
                "Effect": "Allow",
                "Action": list(EC2_MESSAGES_ACTIONS),
                "Resource": "*",
            },
            {
                "Sid": "ReadOwnArtifacts",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{bucket_arn}/{p.strip('/')}/*" for p in artifact_prefixes],
            },
            {
                "Sid": "ReadOwnParameters",
                "Effect": "Allow",
                "Action": ["ssm:GetParameter", "ssm:GetParameters"],
                "Resource": own_parameters,
            },
            {
                # Wins over any Allow attached to this role later (the managed SSM policy...).
                "Sid": "DenyOtherParameters",
                "Effect": "Deny",
                "Action": list(PARAMETER_READ_ACTIONS),
                "NotResource": own_parameters,
            },
            *extra,
        ],
    }


def stack_ssm_prefix(
    environment: str, app: str, project: str = "webstack", stack: str | None = None
) -> str:
    """The app's SSM path as `build_stack` deploys it, for offline tooling (render, rehearsal).

    A deployed stack computes it once in `fleet.stage_app` from the Pulumi project, the stack and
    the WebStack's name (`webstack-<environment>`); the stack defaults to the environment, as the
    environment defaults to the stack name.
    """
    scope = ssm_scope(project, stack or environment, f"webstack-{environment}")
    return ssm_prefix(scope, app)
