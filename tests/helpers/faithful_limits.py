"""AWS's documented constraints on the arguments the components set: one row per type + argument.

`tf-aws` = hashicorp/terraform-provider-aws (the provider pulumi-aws bridges; its schema
ValidateFuncs run in the provider's Check, before any AWS call). AWS pages are under
docs.aws.amazon.com. Paths use the SDK's camelCase input names as the mocks record them;
`[]` walks every list element.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from components.spec.observability import RETENTION_DAYS
from components.tooling.mocks import RecordedResource

Check = Callable[[Any], str | None]

TAGGABLE_MAX = 50  # user tags per resource


def between(lo: float, hi: float) -> Check:
    return lambda v: None if lo <= float(v) <= hi else f"{v} is outside {lo:g}..{hi:g}"


def length(lo: int, hi: int) -> Check:
    return lambda v: None if lo <= len(str(v)) <= hi else f"length {len(str(v))} not in {lo}..{hi}"


def one_of(*allowed: str) -> Check:
    return lambda v: None if v in allowed else f"{v!r} is not one of {', '.join(allowed)}"


def matches(regex: str, what: str) -> Check:
    compiled = re.compile(regex)
    return lambda v: None if compiled.fullmatch(str(v)) else f"{v!r} is not {what}"


def _tags(v: Any) -> str | None:
    """AWS tagging best practices (tag-editor/latest/userguide/tagging.html): 50 user tags, key
    1..128, value 0..256, no `aws:` prefix."""
    pairs = v.items() if isinstance(v, dict) else [(t["key"], t.get("value", "")) for t in v]
    pairs = list(pairs)
    if len(pairs) > TAGGABLE_MAX:
        return f"{len(pairs)} tags, at most {TAGGABLE_MAX}"
    for key, value in pairs:
        if not 1 <= len(key) <= 128 or str(key).lower().startswith("aws:"):
            return f"tag key {key!r}: 1..128 characters, not aws:*"
        if len(str(value)) > 256:
            return f"tag {key}: value over 256 characters"
    return None


def _user_data(v: Any) -> str | None:
    """EC2 user data: at most 16 KB in raw form, before base64 (AWSEC2 user-data.html)."""
    raw = base64.b64decode(v)
    return None if len(raw) <= 16 * 1024 else f"{len(raw)} bytes of user data, at most 16384"


def _policy_json(max_chars: int) -> Check:
    """IAM reference_iam-quotas: sizes count non-whitespace characters; U+0009..U+00FF only."""

    def check(v: Any) -> str | None:
        text = v if isinstance(v, str) else json.dumps(v)
        json.loads(text)
        size = len(re.sub(r"\s", "", text))
        if size > max_chars:
            return f"policy of {size} characters, at most {max_chars}"
        if any(ord(c) > 0xFF for c in text):
            return "policy has characters beyond U+00FF"
        return None

    return check


def _ssm_name(v: Any) -> str | None:
    """SSM PutParameter Name: a-zA-Z0-9_.-/, not aws*/ssm* (any case), 15 levels, 1011 chars."""
    name = str(v)
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", name):
        return f"{name!r}: only a-zA-Z0-9_.-/"
    if re.match(r"^/?(aws|ssm)", name, re.IGNORECASE):
        return f"{name!r} may not begin with aws or ssm"
    if name.strip("/").count("/") + 1 > 15:
        return f"{name!r} is deeper than 15 levels"
    return None if len(name) <= 1011 else f"{name!r} is over 1011 characters"


def _alarm_span(v: Any) -> str | None:
    """PutMetricAlarm: Period 10, 20, 30 or a multiple of 60; Period x EvaluationPeriods at
    most 86,400 s for periods of a minute or more (AWS CloudWatch API PutMetricAlarm)."""
    period, periods = int(v.get("period") or 60), int(v.get("evaluationPeriods", 1))
    if period not in (10, 20, 30) and period % 60:
        return f"period {period}: 10, 20, 30 or a multiple of 60"
    if period * periods > 86400:
        return f"{period} s x {periods} periods is more than a day"
    if int(v.get("datapointsToAlarm") or periods) > periods:
        return "datapointsToAlarm exceeds evaluationPeriods"
    return None


def _host_header_value(v: Any) -> str | None:
    """tf-aws listener_rule.go host_header values: 1..128 characters; ELB API Reference,
    HostHeaderConditionConfig.Values: A-Z, a-z, 0-9, - . * ?, "at least one '.' character" and
    "only alphabetical characters after the final '.' character"."""
    host = str(v)
    if not 1 <= len(host) <= 128:
        return f"length {len(host)} not in 1..128"
    if not re.fullmatch(r"[A-Za-z0-9*?.-]*\.[A-Za-z]+", host):
        return f"{host!r}: needs a '.', only letters after the last one, and A-Za-z0-9-.*?"
    return None


def _count(lo: int, hi: int) -> Check:
    return lambda v: None if lo <= len(v) <= hi else f"{len(v)} values, {lo}..{hi} allowed"


def _cidr_prefix(lo: int, hi: int) -> Check:
    return lambda v: None if lo <= int(str(v).split("/")[1]) <= hi else f"{v}: /{lo}../{hi} only"


def _rds_name(max_len: int, charset: str = "0-9a-z-") -> Check:
    """terraform-provider-aws internal/service/rds/validate.go validIdentifier / validParamGroupName
    / validFinalSnapshotIdentifier: [charset]+, a letter first, no `--`, no trailing `-`."""

    def check(v: Any) -> str | None:
        name = str(v)
        if not re.fullmatch(f"[{charset}]+", name) or not re.match("[a-zA-Z]", name):
            return f"{name!r}: [{charset}] only, a letter first"
        if "--" in name or name.endswith("-"):
            return f"{name!r}: no '--', no trailing '-'"
        return None if len(name) <= max_len else f"{name!r} is over {max_len} characters"

    return check


def _rds_password(v: Any) -> str | None:
    """AWS RDS API CreateDBInstance MasterUserPassword: PostgreSQL 8..128 printable ASCII except
    '/', '"', '@' and space."""
    value = str(v.get("value", "")) if isinstance(v, dict) else str(v)
    if not 8 <= len(value) <= 128:
        return f"password of {len(value)} characters, PostgreSQL takes 8..128"
    bad = sorted({c for c in value if c in '/"@ ' or not 32 < ord(c) < 127})
    return f"password holds {bad!r}" if bad else None


@dataclass(frozen=True)
class Limit:
    type: str
    path: str
    check: Check
    source: str


TG = "aws:lb/targetGroup:TargetGroup"
RDS = "aws:rds/instance:Instance"
RDS_SUBNETS = "aws:rds/subnetGroup:SubnetGroup"
RDS_PARAMS = "aws:rds/parameterGroup:ParameterGroup"
LR = "aws:lb/listenerRule:ListenerRule"
LB = "aws:lb/loadBalancer:LoadBalancer"
LS = "aws:lb/listener:Listener"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
ASG = "aws:autoscaling/group:Group"
LG = "aws:cloudwatch/logGroup:LogGroup"
MA = "aws:cloudwatch/metricAlarm:MetricAlarm"
_ELB_Q = "AWS elasticloadbalancing/latest/application/load-balancer-limits.html"
_SG_DESC = r"[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]{0,255}"

LIMITS = [
    Limit(TG, "port", between(1, 65535), "tf-aws elbv2/target_group.go port IntBetween(1, 65535)"),
    Limit(TG, "deregistrationDelay", between(0, 3600), "tf-aws target_group.go deregistration_delay 0..3600"),
    Limit(TG, "healthCheck.interval", between(5, 300), "tf-aws target_group.go health_check.interval 5..300"),
    Limit(TG, "healthCheck.timeout", between(2, 120), "tf-aws target_group.go health_check.timeout 2..120"),
    Limit(TG, "healthCheck.healthyThreshold", between(2, 10), "tf-aws target_group.go healthy_threshold 2..10"),
    Limit(TG, "healthCheck.unhealthyThreshold", between(2, 10), "tf-aws target_group.go unhealthy_threshold 2..10"),
    Limit(TG, "healthCheck.path", matches(r"/.{0,1023}", "1..1024 characters starting with /"), "tf-aws target_group.go health_check.path"),
    Limit(TG, "healthCheck.protocol", one_of("HTTP", "HTTPS", "TCP"), "tf-aws elbv2/const.go healthCheckProtocolEnumValues"),
    Limit(TG, "healthCheck.matcher", matches(r"(2|3|4)\d\d([,-](2|3|4)\d\d)*", "HTTP codes 200..499"), "AWS ELB API Matcher HttpCode (200 to 499 for HTTP/HTTPS)"),
    Limit(TG, "tags", _tags, "AWS tagging.html"),
    Limit(TG, "namePrefix", matches(r"(?!-)[0-9A-Za-z-]{1,6}", "1..6 of [0-9A-Za-z-], no leading hyphen"), "tf-aws elbv2/validate.go validTargetGroupNamePrefix (32 - 26-character unique suffix)"),
    Limit(LB, "namePrefix", matches(r"(?!-)(?!internal-)[0-9A-Za-z-]{1,6}", "1..6 of [0-9A-Za-z-]"), "tf-aws elbv2/validate.go validNamePrefix"),
    Limit(LR, "priority", between(1, 50000), "tf-aws elbv2/listener_rule.go listenerRulePriorityMin/Max"),
    Limit(LR, "conditions[].hostHeader.values[]", _host_header_value, "tf-aws listener_rule.go host_header values 1..128; AWS ELB API HostHeaderConditionConfig Values"),
    Limit(LR, "conditions[].hostHeader.values", _count(1, 3), "AWS ELB rule-condition-types.html: up to three match evaluations per condition"),
    Limit(LR, "conditions[].pathPattern.values[]", length(1, 128), "tf-aws listener_rule.go path_pattern values 1..128"),
    Limit(LR, "tags", _tags, "AWS tagging.html"),
    Limit(LB, "idleTimeout", between(1, 4000), "AWS ELB API LoadBalancerAttribute idle_timeout.timeout_seconds 1-4000"),
    Limit(LB, "desyncMitigationMode", one_of("monitor", "defensive", "strictest"), "tf-aws elbv2/const.go httpDesyncMitigationMode_Values"),
    Limit(LB, "securityGroups", lambda v: None if 1 <= len(v) <= 5 else f"{len(v)} groups", "AWS ELB API SetSecurityGroups (at most 5)"),
    Limit(LB, "subnets", lambda v: None if len(v) >= 2 else "an ALB needs subnets in 2 AZs", "AWS ELB API CreateLoadBalancer Subnets (ALB: at least two AZs)"),
    Limit(LB, "tags", _tags, "AWS tagging.html"),
    Limit(LS, "port", between(1, 65535), "tf-aws elbv2/listener.go port 1..65535"),
    Limit(LS, "protocol", one_of("HTTP", "HTTPS"), "AWS ELB API CreateListener (ALB: HTTP | HTTPS)"),
    Limit(LS, "defaultActions[].fixedResponse.contentType", one_of("text/plain", "text/css", "text/html", "application/javascript", "application/json"), "tf-aws listener.go fixed_response content_type"),
    Limit(LS, "defaultActions[].fixedResponse.messageBody", length(0, 1024), "tf-aws listener.go fixed_response message_body 0..1024"),
    Limit(LS, "defaultActions[].fixedResponse.statusCode", matches(r"[245]\d\d", "2XX, 4XX or 5XX"), "tf-aws listener.go fixed_response status_code ^[245]\\d\\d$"),
    Limit(LS, "defaultActions[].redirect.statusCode", one_of("HTTP_301", "HTTP_302"), "AWS ELB API RedirectActionConfig StatusCode"),
    Limit(LT, "userData", _user_data, "AWS EC2 user-data.html (16 KB raw)"),
    Limit(LT, "metadataOptions.httpPutResponseHopLimit", between(1, 64), "AWS EC2 API InstanceMetadataOptionsRequest HttpPutResponseHopLimit 1-64"),
    Limit(LT, "metadataOptions.httpTokens", one_of("optional", "required"), "AWS EC2 API HttpTokens"),
    Limit(LT, "blockDeviceMappings[].ebs.volumeSize", between(1, 16384), "AWS EBS volume types (gp3 1 GiB-16 TiB)"),
    Limit(LT, "blockDeviceMappings[].ebs.volumeType", one_of("gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"), "AWS EC2 API EbsBlockDevice VolumeType"),
    Limit(LT, "tagSpecifications[].tags", _tags, "AWS tagging.html"),
    Limit(LT, "tags", _tags, "AWS tagging.html"),
    Limit("aws:ec2/instance:Instance", "userDataBase64", _user_data, "AWS EC2 user-data.html (16 KB raw)"),
    Limit("aws:ec2/instance:Instance", "metadataOptions.httpPutResponseHopLimit", between(1, 64), "AWS EC2 API HttpPutResponseHopLimit 1-64"),
    Limit("aws:ec2/instance:Instance", "tags", _tags, "AWS tagging.html"),
    Limit(ASG, "tags", _tags, "AWS tagging.html; Auto Scaling: 50 tags per group"),
    Limit(ASG, "instanceRefresh.preferences.minHealthyPercentage", between(0, 100), "AWS Auto Scaling API RefreshPreferences MinHealthyPercentage 0-100"),
    Limit(ASG, "instanceRefresh.preferences.maxHealthyPercentage", between(100, 200), "AWS Auto Scaling API RefreshPreferences MaxHealthyPercentage 100-200"),
    Limit(ASG, "healthCheckGracePeriod", between(0, 7200), "AWS Auto Scaling health check grace period (0-7200 s in the console)"),
    Limit(ASG, "waitForCapacityTimeout", matches(r"\d+[smh](\d+[smh])*|0", "a Go duration"), "tf-aws autoscaling/group.go wait_for_capacity_timeout (time.ParseDuration)"),
    Limit("aws:autoscaling/policy:Policy", "estimatedInstanceWarmup", between(0, 2**31 - 1), "AWS Auto Scaling API PutScalingPolicy EstimatedInstanceWarmup"),
    Limit("aws:ssm/parameter:Parameter", "name", _ssm_name, "AWS SSM API PutParameter Name (naming constraints)"),
    Limit("aws:ssm/parameter:Parameter", "type", one_of("String", "StringList", "SecureString"), "AWS SSM API PutParameter Type"),
    Limit("aws:ssm/parameter:Parameter", "value", length(1, 4096), "AWS SSM quotas: standard parameter value 4 KB"),
    Limit("aws:ssm/parameter:Parameter", "insecureValue", length(1, 4096), "AWS SSM quotas: standard parameter value 4 KB (the release pointer, plain)"),
    Limit("aws:ssm/parameter:Parameter", "tier", one_of("Standard", "Advanced", "Intelligent-Tiering"), "AWS SSM API PutParameter Tier"),
    Limit("aws:ssm/parameter:Parameter", "description", length(0, 1024), "AWS SSM API PutParameter Description 0-1024"),
    Limit("aws:ssm/parameter:Parameter", "tags", _tags, "AWS tagging.html"),
    Limit("aws:iam/role:Role", "assumeRolePolicy", _policy_json(2048), "AWS IAM reference_iam-quotas (role trust policy 2,048)"),
    Limit("aws:iam/rolePolicy:RolePolicy", "policy", _policy_json(10240), "AWS IAM reference_iam-quotas (role policy 10,240, all inline policies together)"),
    Limit("aws:iam/role:Role", "tags", _tags, "AWS IAM reference_iam-quotas (50 tags per role)"),
    Limit("aws:s3/bucketObjectv2:BucketObjectv2", "key", lambda v: None if 1 <= len(str(v).encode()) <= 1024 else "key over 1024 bytes", "AWS S3 object-keys.html (1,024 bytes UTF-8)"),
    Limit("aws:s3/bucket:Bucket", "tags", _tags, "AWS tagging.html"),
    Limit("aws:s3/bucketPolicy:BucketPolicy", "policy", lambda v: None if len(str(v).encode()) <= 20 * 1024 else "over 20 KB", "AWS S3 bucket policies: 20 KB"),
    Limit("aws:ec2/securityGroup:SecurityGroup", "description", matches(_SG_DESC, "255 chars of a-zA-Z0-9 ._-:/()#,@[]+=&;{}!$*"), "AWS EC2 API CreateSecurityGroup GroupDescription"),
    Limit("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "description", matches(_SG_DESC, "255 chars of the SG charset"), "AWS EC2 API IpRange Description"),
    Limit("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "fromPort", between(0, 65535), "AWS EC2 API IpPermission FromPort"),
    Limit("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "toPort", between(0, 65535), "AWS EC2 API IpPermission ToPort"),
    Limit("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "description", matches(_SG_DESC, "255 chars of the SG charset"), "AWS EC2 API IpRange Description"),
    Limit("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "fromPort", between(0, 65535), "AWS EC2 API IpPermission FromPort"),
    Limit("aws:ec2/vpc:Vpc", "cidrBlock", _cidr_prefix(16, 28), "AWS VPC vpc-cidr-blocks.html (/16 to /28)"),
    Limit("aws:ec2/subnet:Subnet", "cidrBlock", _cidr_prefix(16, 28), "AWS VPC subnet-sizing.html (/16 to /28)"),
    Limit("aws:route53/record:Record", "name", matches(r"(?=.{1,255}$)([A-Za-z0-9*_-]{1,63}\.)*[A-Za-z0-9_-]{1,63}\.?", "a DNS name (labels <= 63, <= 255)"), "AWS Route 53 DomainNameFormat.html"),
    Limit(LG, "retentionInDays", lambda v: None if v in RETENTION_DAYS else f"{v} is not a retention value", "AWS CloudWatch Logs API PutRetentionPolicy retentionInDays; tf-aws logs/group.go retention_in_days IntInSlice"),
    Limit(LG, "kmsKeyId", matches(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+", "a KMS key ARN"), "AWS CloudWatch Logs API CreateLogGroup kmsKeyId (the key ARN)"),
    Limit(LG, "tags", _tags, "AWS tagging.html"),
    Limit(MA, "comparisonOperator", one_of("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold", "LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"), "AWS CloudWatch API PutMetricAlarm ComparisonOperator"),
    Limit(MA, "evaluationPeriods", between(1, 2**31 - 1), "AWS CloudWatch API PutMetricAlarm EvaluationPeriods >= 1"),
    Limit(MA, "statistic", one_of("SampleCount", "Average", "Sum", "Minimum", "Maximum"), "AWS CloudWatch API PutMetricAlarm Statistic"),
    Limit(MA, "extendedStatistic", matches(r"p(\d{1,2}(\.\d{1,2})?|100)", "a percentile p0.0..p100"), "AWS CloudWatch API PutMetricAlarm ExtendedStatistic (p0.0-p100)"),
    Limit(MA, "treatMissingData", one_of("breaching", "notBreaching", "ignore", "missing"), "AWS CloudWatch API PutMetricAlarm TreatMissingData"),
    Limit(MA, "alarmDescription", length(0, 1024), "AWS CloudWatch API PutMetricAlarm AlarmDescription 0-1024"),
    Limit(MA, "dimensions", lambda v: None if len(v) <= 30 else f"{len(v)} dimensions", "AWS CloudWatch API PutMetricAlarm Dimensions (at most 30)"),
    Limit(MA, "metricQueries[].id", matches(r"[a-z][a-zA-Z0-9_]{0,254}", "a lower-case first letter, then letters, digits, _"), "AWS CloudWatch API MetricDataQuery Id"),
    Limit(MA, "metricQueries[].metric.stat", matches(r"SampleCount|Average|Sum|Minimum|Maximum|p\d{1,2}(\.\d{1,2})?|p100", "a statistic"), "AWS CloudWatch API MetricStat Stat"),
    Limit(MA, "metricQueries", lambda v: None if len(v) <= 10 else f"{len(v)} queries", "AWS CloudWatch API PutMetricAlarm Metrics (metric math alarms: at most 10)"),
    Limit(LB, "accessLogs.prefix", matches(r"(?!.*AWSLogs)[^/].*[^/]|[^/]?", "a prefix without AWSLogs or edge slashes"), "AWS ALB Guide enable-access-logging.html (prefix must not include AWSLogs; no leading/trailing /)"),
    Limit("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "rules[].expiration.days", between(1, 2**31 - 1), "AWS S3 lifecycle configuration: Expiration Days a positive integer"),
    Limit("aws:sns/topicSubscription:TopicSubscription", "protocol", one_of("email", "email-json", "http", "https", "sqs", "sms", "lambda", "firehose", "application"), "AWS SNS API Subscribe Protocol"),
    Limit("aws:sns/topic:Topic", "tags", _tags, "AWS tagging.html"),
    Limit("aws:acm/certificate:Certificate", "subjectAlternativeNames", lambda v: None if len(v) <= 9 else f"{len(v) + 1} names", "AWS ACM quotas: 10 domain names per certificate"),
    # -- RDS (issue 17): components/aws/database.py
    Limit(RDS, "identifier", _rds_name(63), "tf-aws rds/validate.go validIdentifier; AWS RDS CHAP_Limits (DB instance identifier 1-63)"),
    Limit(RDS, "finalSnapshotIdentifier", _rds_name(255, "0-9A-Za-z-"), "tf-aws rds/validate.go validFinalSnapshotIdentifier"),
    Limit(RDS, "backupRetentionPeriod", between(0, 35), "tf-aws rds/instance.go backup_retention_period IntBetween(0, 35)"),
    Limit(RDS, "allocatedStorage", between(20, 65536), "AWS RDS CHAP_Storage.html: gp3 for PostgreSQL 20 GiB-64 TiB"),
    Limit(RDS, "storageType", one_of("gp2", "gp3", "io1", "io2", "standard"), "tf-aws rds/instance.go storage_type StringInSlice(StorageType_Values)"),
    Limit(RDS, "instanceClass", matches(r"db\.[a-z0-9]+\.[a-z0-9]+", "db.<family>.<size>"), "AWS RDS Concepts.DBInstanceClass.html (db.<class>.<size>)"),
    Limit(RDS, "engineVersion", one_of("14", "15", "16", "17"), "AWS RDS PostgreSQL release calendar: majors in standard support"),
    Limit(RDS, "dbName", matches(r"[A-Za-z][A-Za-z0-9_]{0,62}", "1..63 letters/digits/_ starting with a letter"), "AWS RDS API CreateDBInstance DBName (PostgreSQL)"),
    Limit(RDS, "username", matches(r"[A-Za-z][A-Za-z0-9_]{0,62}", "1..63 letters/digits/_ starting with a letter"), "AWS RDS API CreateDBInstance MasterUsername (PostgreSQL)"),
    Limit(RDS, "password", _rds_password, "AWS RDS API CreateDBInstance MasterUserPassword"),
    Limit(RDS, "tags", _tags, "AWS tagging.html; RDS: 50 tags per resource"),
    Limit(RDS_SUBNETS, "name", lambda v: None if re.fullmatch(r"[0-9a-z_. -]{1,255}", str(v)) and v != "default" else f"{v!r}: lowercase [0-9a-z_. -], <= 255, not default", "tf-aws rds/validate.go validSubnetGroupName"),
    Limit(RDS_SUBNETS, "subnetIds", lambda v: None if len(v) >= 2 else f"{len(v)} subnet(s), at least 2 AZs", "AWS RDS USER_VPC.WorkingWithRDSInstanceinaVPC (DB subnet group: 2+ AZs)"),
    Limit(RDS_PARAMS, "name", _rds_name(255, "0-9a-z.-"), "tf-aws rds/validate.go validParamGroupName"),
    Limit("random:index/randomId:RandomId", "byteLength", lambda v: None if int(v) >= 1 else f"{v} bytes, at least 1", "pulumi-random RandomId byte_length: minimum 1"),
    Limit(RDS_PARAMS, "family", matches(r"postgres1[4-7]", "postgres14..17"), "AWS RDS USER_WorkingWithParamGroups (family = engine + major)"),
]  # fmt: skip


def values_at(node: Any, path: str) -> list[Any]:
    """Every value at a dotted path; `[]` after a key walks the list."""
    found = [node]
    for part in path.split("."):
        key, walk = (part[:-2], True) if part.endswith("[]") else (part, False)
        nxt = []
        for item in found:
            if isinstance(item, dict) and item.get(key) is not None:
                value = item[key]
                nxt.extend(value if walk and isinstance(value, list) else [value])
        found = nxt
    return found


def limit_problems(resources: Iterable[RecordedResource]) -> list[str]:
    """Every argument outside its documented range, plus cross-resource rules."""
    resources = list(resources)
    by_type: dict[str, list[Limit]] = defaultdict(list)
    for limit in LIMITS:
        by_type[limit.type].append(limit)
    out = []
    for res in resources:
        for limit in by_type.get(res.type, []):
            for value in values_at(res.inputs, limit.path):
                problem = limit.check(value)
                if problem:
                    out.append(f"{res.type} {res.name}.{limit.path}: {problem} ({limit.source})")
    return (
        out
        + rule_problems(resources)
        + health_check_problems(resources)
        + security_group_rule_problems(resources)
        + alarm_problems(resources)
    )


def alarm_problems(resources: list[RecordedResource]) -> list[str]:
    """Cross-argument alarm rules (period x evaluation periods), one line each."""
    out = []
    for res in resources:
        if res.type != MA:
            continue
        period = res.inputs.get("period") or next(
            (
                q["metric"].get("period")
                for q in res.inputs.get("metricQueries", [])
                if q.get("metric")
            ),
            60,
        )
        problem = _alarm_span({**res.inputs, "period": period})
        if problem:
            out.append(f"{res.name}: {problem} (AWS CloudWatch API PutMetricAlarm)")
    return out


def rule_problems(resources: list[RecordedResource]) -> list[str]:
    """Per listener, priorities are unique (ELB: PriorityInUse); per rule at most 5 condition values
    and 5 wildcards (load-balancer-limits.html, Rules)."""
    out = []
    owner: dict[tuple[str, int], str] = {}
    for res in resources:
        if res.type != LR:
            continue
        key = (str(res.inputs.get("listenerArn")), int(res.inputs.get("priority", 0)))
        if key in owner:
            out.append(f"{res.name}: priority {key[1]} is also {owner[key]}'s (PriorityInUse)")
        owner[key] = res.name
        values = [
            v
            for path in ("conditions[].hostHeader.values[]", "conditions[].pathPattern.values[]")
            for v in values_at(res.inputs, path)
        ]
        if len(values) > 5:
            out.append(f"{res.name}: {len(values)} condition values, at most 5 ({_ELB_Q})")
        wildcards = sum(str(v).count("*") + str(v).count("?") for v in values)
        if wildcards > 5:
            out.append(f"{res.name}: {wildcards} wildcards, at most 5 ({_ELB_Q})")
    return out


SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_INBOUND_QUOTA = 60


def security_group_rule_problems(resources: list[RecordedResource]) -> list[str]:
    """AWS VPC quotas (amazon-vpc-limits.html, Security groups): 60 inbound rules per group by
    default, "enforced separately for IPv4 rules and IPv6 rules"; "a rule that references a
    security group ... counts as one rule for IPv4 and one rule for IPv6"."""
    counts: dict[tuple[str, int], int] = defaultdict(int)
    for res in resources:
        if res.type != SG_INGRESS:
            continue
        group = str(res.inputs.get("securityGroupId"))
        referenced = res.inputs.get("referencedSecurityGroupId") is not None
        for version, key in ((4, "cidrIpv4"), (6, "cidrIpv6")):
            if referenced or res.inputs.get(key):
                counts[(group, version)] += 1
    return [
        f"security group {group}: {n} inbound IPv{version} rules, at most {SG_INBOUND_QUOTA} "
        "(AWS amazon-vpc-limits.html)"
        for (group, version), n in sorted(counts.items())
        if n > SG_INBOUND_QUOTA
    ]


def health_check_problems(resources: list[RecordedResource]) -> list[str]:
    """ELB CreateTargetGroup: the health check timeout must be smaller than the interval."""
    out = []
    for res in resources:
        check = res.inputs.get("healthCheck") if res.type == TG else None
        timeout, interval = (check or {}).get("timeout"), (check or {}).get("interval")
        if timeout and interval and float(timeout) >= float(interval):
            out.append(f"{res.name}: health check timeout must be smaller than the interval")
    return out


def decoded_user_data(blob: str) -> bytes:
    raw = base64.b64decode(blob)
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
