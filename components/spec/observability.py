"""The `observability:` settings: logs off the box, alarms, the dashboard, ALB access logs.

On by default for every stack (an operator needs logs that survive the instance); one setting,
`observability.enabled: false`, turns all of it off for a throwaway dev stack. ALB access logs
default to on for `production: true` stacks.
"""

from __future__ import annotations

import re

from pydantic import Field, field_validator, model_validator

from components.spec.common import Model

# The only values CloudWatch Logs accepts for a log group's retention (CloudWatch Logs API
# Reference, PutRetentionPolicy `retentionInDays`: "Possible values are: 1, 3, 5, 7, 14, 30, 60,
# 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653"; the same
# list validates `retention_in_days` in terraform-provider-aws internal/service/logs/group.go,
# and the agent's own schema, translator/config/schema.json `retentionInDaysDefinition`).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827)
RETENTION_DAYS += (2192, 2557, 2922, 3288, 3653)
# A KMS key ARN (CloudWatch Logs AssociateKmsKey `kmsKeyId`: "the ARN of the KMS key"; an alias
# is not accepted by CloudWatch Logs).
KMS_KEY_ARN = re.compile(
    r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/([0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}"
    r"|mrk-[0-9a-f]{32})$"
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


class AlarmThresholds(Model):
    """When an alarm fires. Each alarm must breach for `minutes` consecutive minutes."""

    alb_5xx_percent: int = Field(
        5, ge=1, le=100, description="ALB-generated 5xx as % of requests (load balancer wide)."
    )
    target_5xx_percent: int = Field(
        5, ge=1, le=100, description="App (target) 5xx as % of the app's requests."
    )
    latency_p99_percent_of_timeout: int = Field(
        80,
        ge=5,
        le=100,
        description="p99 target response time, as % of `request_timeout` (the app's limit).",
    )
    memory_percent: int = Field(90, ge=10, le=100, description="Memory used % (agent), any VM.")
    disk_percent: int = Field(85, ge=10, le=100, description="Root disk used % (agent), any VM.")
    minutes: int = Field(
        5, ge=1, le=60, description="Consecutive one-minute periods in breach before alarming."
    )


class ObservabilitySpec(Model):
    enabled: bool = Field(
        True,
        description="CloudWatch agent, log groups, alarms, SNS topic and dashboard. false turns "
        "all of it off (a throwaway dev stack).",
    )
    retention_days: int = Field(
        30,
        description="Log group retention in days (one of CloudWatch's values: "
        + ", ".join(map(str, RETENTION_DAYS))
        + ").",
    )
    kms_key_arn: str | None = Field(
        None,
        description="KMS key ARN for the log groups and the alarm topic (its key policy must "
        "allow logs.<region>.amazonaws.com and cloudwatch.amazonaws.com). Default: AWS-owned "
        "encryption.",
    )
    alarm_email: str | None = Field(
        None, description="E-mail address subscribed to the alarm topic (confirm the mail)."
    )
    access_logs: bool | None = Field(
        None,
        description="ALB access logs to an SSE-S3 bucket (default: on when production: true).",
    )
    access_log_days: int = Field(
        90, ge=1, le=3650, description="Days ALB access logs are kept before S3 expires them."
    )
    thresholds: AlarmThresholds = Field(default_factory=AlarmThresholds)

    @model_validator(mode="after")
    def _access_logs_need_enabled(self) -> ObservabilitySpec:
        if self.access_logs and not self.enabled:
            raise ValueError(
                "access_logs: true contradicts enabled: false (which turns all observability "
                "off); drop one"
            )
        return self

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, v: int) -> int:
        if v not in RETENTION_DAYS:
            allowed = ", ".join(map(str, RETENTION_DAYS))
            raise ValueError(f"{v} is not a CloudWatch Logs retention; use one of {allowed}")
        return v

    @field_validator("kms_key_arn")
    @classmethod
    def _kms(cls, v: str | None) -> str | None:
        if v is not None and not KMS_KEY_ARN.match(v):
            raise ValueError(
                f"{v!r} is not a KMS key ARN such as "
                "arn:aws:kms:eu-west-1:123456789012:key/<uuid> (aliases are not accepted)"
            )
        return v

    @field_validator("alarm_email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not EMAIL.match(v):
            raise ValueError(f"{v!r} is not an e-mail address such as ops@example.com")
        return v

    def access_logs_on(self, production: bool) -> bool:
        """ALB access logs: explicit setting, else on for production; never without `enabled`."""
        if not self.enabled:
            return False
        return production if self.access_logs is None else self.access_logs
