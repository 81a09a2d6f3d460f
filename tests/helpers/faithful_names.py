"""Physical names as pulumi-aws gives them, checked against what AWS accepts.

Mocks record the logical name and the inputs; the provider would then fill an unset name field
with `<logical name>-<7 random hex>` (pulumi-aws provider/resources.go: `tfbridge.AutoName(field,
maxlen, "-")`, default `setAutonaming` 255; Randlen 7), and refuse it when the logical name plus
8 characters is over that maximum (pulumi/pulumi sdk/go/common/resource/resource_id.go
NewUniqueName: "name '<x>-' plus 7 random chars is longer than maximum length N"). AWS's own limits
apply to the result, whoever chose it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from components.tooling.mocks import RecordedResource

RANDOM_SUFFIX = "-" + "a" * 7  # the provider's separator + 7 hex characters

_ELB_NAME = re.compile(r"^[0-9A-Za-z-]+$")
_IAM_NAME = re.compile(r"^[\w+=,.@-]+$")
_LT_NAME = re.compile(r"^[0-9A-Za-z().\-/_]+$")
_SG_CHARS = re.compile(r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$")
_LOG_GROUP = re.compile(r"^[.\-_/#A-Za-z0-9]+$")
_DASHBOARD = re.compile(r"^[A-Za-z0-9_-]+$")
_TOPIC = re.compile(r"^[A-Za-z0-9_-]+$")


def _elb_problems(name: str) -> list[str]:
    """terraform-provider-aws internal/service/elbv2/validate.go validName / validTargetGroupName."""
    out = []
    if not _ELB_NAME.fullmatch(name):
        out.append("only alphanumerics and hyphens")
    if name.startswith("-") or name.endswith("-"):
        out.append("cannot begin or end with a hyphen")
    if name.startswith("internal-"):
        out.append('cannot begin with "internal-"')
    return out


def _bucket_problems(name: str) -> list[str]:
    """AWS S3 docs, bucketnamingrules.html (general purpose buckets)."""
    out = []
    if not 3 <= len(name) <= 63 or not _BUCKET.fullmatch(name):
        out.append("3-63 of [a-z0-9.-], beginning and ending with a letter or digit")
    if ".." in name:
        out.append("no two adjacent periods")
    try:
        ipaddress.IPv4Address(name)
        out.append("not formatted as an IP address")
    except ValueError:
        pass
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            out.append(f"must not start with {prefix}")
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            out.append(f"must not end with {suffix}")
    return out


@dataclass(frozen=True)
class NameRule:
    """One resource type's name field: provider auto-name maximum and AWS's rules, with sources."""

    type: str
    field: str
    autoname_max: int  # pulumi-aws resources.go (AutoName maxlen or the 255 default)
    aws_max: int
    pattern_problems: Callable[[str], list[str]]
    source: str
    lowercase: bool = False  # AutoNameTransform(strings.ToLower)
    aws_min: int = 1


def _pattern(regex: re.Pattern[str], what: str) -> Callable[[str], list[str]]:
    return lambda name: [] if regex.fullmatch(name) else [f"only {what}"]


def _sg(name: str) -> list[str]:
    out = [] if _SG_CHARS.fullmatch(name) else ["only a-zA-Z0-9, spaces and ._-:/()#,@[]+=&;{}!$*"]
    return out + (["cannot start with sg-"] if name.lower().startswith("sg-") else [])


NAME_RULES = [
    NameRule(
        "aws:lb/loadBalancer:LoadBalancer", "name", 255, 32, _elb_problems,
        "pulumi-aws resources.go (aws_lb: default AutoName 255); tf-aws elbv2/validate.go validName",
    ),
    NameRule(
        "aws:lb/targetGroup:TargetGroup", "name", 32, 32, _elb_problems,
        'pulumi-aws resources.go aws_lb_target_group AutoName("name", 32, "-"); '
        "tf-aws elbv2/validate.go validTargetGroupName",
    ),
    NameRule(
        "aws:iam/role:Role", "name", 64, 64, _pattern(_IAM_NAME, "[\\w+=,.@-]"),
        'pulumi-aws resources.go aws_iam_role AutoName("name", 64, "-"); AWS IAM '
        "reference_iam-quotas (role name 64)",
    ),
    NameRule(
        "aws:iam/instanceProfile:InstanceProfile", "name", 255, 128, _pattern(_IAM_NAME, "[\\w+=,.@-]"),
        "pulumi-aws default AutoName 255; AWS IAM reference_iam-quotas (instance profile name 128)",
    ),
    NameRule(
        "aws:iam/rolePolicy:RolePolicy", "name", 255, 128, _pattern(_IAM_NAME, "[\\w+=,.@-]"),
        "pulumi-aws default AutoName 255; AWS IAM reference_iam-quotas (policy name 128)",
    ),
    NameRule(
        "aws:ec2/launchTemplate:LaunchTemplate", "name", 255, 128, _pattern(_LT_NAME, "[a-zA-Z0-9().-/_]"),
        "pulumi-aws default AutoName 255; AWS EC2 API CreateLaunchTemplate LaunchTemplateName "
        "3-128, [a-zA-Z0-9().-/_]+",
        aws_min=3,
    ),
    NameRule(
        "aws:autoscaling/group:Group", "name", 255, 255, lambda n: [],
        "pulumi-aws default AutoName 255; AWS Auto Scaling API AutoScalingGroupName 1-255",
    ),
    NameRule(
        "aws:autoscaling/policy:Policy", "name", 255, 255, lambda n: [],
        "pulumi-aws default AutoName 255; AWS Auto Scaling API PutScalingPolicy PolicyName 1-255",
    ),
    NameRule(
        "aws:ec2/securityGroup:SecurityGroup", "name", 255, 255, _sg,
        "pulumi-aws default AutoName 255; AWS EC2 API CreateSecurityGroup GroupName (255, "
        "VPC charset, not sg-*)",
    ),
    NameRule(
        "aws:s3/bucket:Bucket", "bucket", 63, 63, _bucket_problems,
        'pulumi-aws resources.go aws_s3_bucket AutoNameTransform("bucket", 63, ToLower); '
        "AWS S3 bucketnamingrules.html",
        lowercase=True, aws_min=3,
    ),
    NameRule(
        "aws:cloudwatch/logGroup:LogGroup", "name", 512, 512, _pattern(_LOG_GROUP, "[.-_/#A-Za-z0-9]"),
        "AWS CloudWatch Logs API CreateLogGroup logGroupName 1-512, [\\.\\-_/#A-Za-z0-9]+",
    ),
    NameRule(
        "aws:cloudwatch/metricAlarm:MetricAlarm", "alarmName", 255, 255, lambda n: [],
        "pulumi-aws default AutoName 255; AWS CloudWatch API PutMetricAlarm AlarmName 1-255",
    ),
    NameRule(
        "aws:cloudwatch/dashboard:Dashboard", "dashboardName", 0, 255, _pattern(_DASHBOARD, "[A-Za-z0-9_-]"),
        "tf-aws cloudwatch/dashboard.go dashboard_name (required, no auto-name); AWS CloudWatch "
        "API PutDashboard DashboardName: A-Z, a-z, 0-9, -, _ only, 1-255",
    ),
    NameRule(
        "aws:sns/topic:Topic", "name", 256, 256, _pattern(_TOPIC, "[A-Za-z0-9_-]"),
        "pulumi-aws default AutoName; AWS SNS API CreateTopic Name 1-256, [A-Za-z0-9_-]",
    ),
]  # fmt: skip
RULES_BY_TYPE = {rule.type: rule for rule in NAME_RULES}


@dataclass(frozen=True)
class PhysicalName:
    type: str
    logical: str
    value: str | None  # None: the provider refuses to auto-name it
    autonamed: bool
    problems: tuple[str, ...]


def physical_name(res: RecordedResource) -> PhysicalName | None:
    """The name the provider would send to AWS (explicit or auto-named), with its problems."""
    rule = RULES_BY_TYPE.get(res.type)
    if rule is None:
        return None
    explicit = res.inputs.get(rule.field)
    if isinstance(explicit, str) and explicit:
        value, autonamed = explicit, False
    else:
        prefix = res.name.lower() if rule.lowercase else res.name
        if len(prefix) + len(RANDOM_SUFFIX) > rule.autoname_max:
            problem = (
                f"name '{prefix}-' plus 7 random chars is longer than maximum length "
                f"{rule.autoname_max} ({rule.source})"
            )
            return PhysicalName(res.type, res.name, None, True, (problem,))
        value, autonamed = prefix + RANDOM_SUFFIX, True
    problems = [f"{p} ({rule.source})" for p in rule.pattern_problems(value)]
    if not rule.aws_min <= len(value) <= rule.aws_max:
        problems.append(
            f"{len(value)} characters, AWS allows {rule.aws_min}..{rule.aws_max} ({rule.source})"
        )
    return PhysicalName(res.type, res.name, value, autonamed, tuple(problems))


def name_problems(resources: Iterable[RecordedResource]) -> list[str]:
    """One line per resource whose physical name AWS or the provider would refuse."""
    out = []
    for res in resources:
        found = physical_name(res)
        if found and found.problems:
            out.append(f"{res.type} {res.name} -> {found.value}: {'; '.join(found.problems)}")
    return out


def duplicate_names(resources: Iterable[RecordedResource]) -> list[str]:
    """Explicit names must be unique per type (ELB: per region and account; IAM: per account)."""
    seen: dict[tuple[str, str], str] = {}
    out = []
    for res in resources:
        found = physical_name(res)
        if found is None or found.autonamed or found.value is None:
            continue
        key = (res.type, found.value.lower())
        if key in seen:
            out.append(f"{res.type}: {res.name} and {seen[key]} are both named {found.value}")
        seen[key] = res.name
    return out
