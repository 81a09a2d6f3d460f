"""Where the stack deploys: account, region and partition, looked up once and handed down.

WebStack calls `lookup_aws_context` once and passes the result to every tier, fleet, rollout and
observability part; a component used alone (no context given) looks them up itself. Invokes create
no resources, so where they run changes no URN (tests/faithful/test_faithful_diff.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi import Input


@dataclass(frozen=True)
class AwsContext:
    account_id: Input[str]
    region: Input[str]
    partition: Input[str]


def lookup_aws_context(parent: pulumi.Resource) -> AwsContext:
    """The three invokes, parented so they use the parent's provider (its region, its account)."""
    opts = pulumi.InvokeOutputOptions(parent=parent)
    return AwsContext(
        account_id=aws.get_caller_identity_output(opts=opts).account_id,
        region=aws.get_region_output(opts=opts).region,
        partition=aws.get_partition_output(opts=opts).partition,
    )
