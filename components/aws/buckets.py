"""The private bucket both stores share: owner-enforced, never public, encrypted with SSE-S3."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_aws as aws
from pulumi import ResourceOptions


@dataclass(frozen=True)
class PrivateBucket:
    bucket: aws.s3.Bucket
    # A bucket policy must wait for the block, or S3 judges it before the block exists.
    public_access_block: aws.s3.BucketPublicAccessBlock
    encryption: aws.s3.BucketServerSideEncryptionConfiguration


def private_bucket(
    name: str,
    *,
    force_destroy: bool,
    tags: dict[str, str],
    opts: ResourceOptions,
    bucket_key_enabled: bool | None = None,
) -> PrivateBucket:
    """`<name>-bucket` and its ownership, public-access-block and encryption settings.

    The logical names are the ones each store always had, so moving here replaces nothing.
    """
    bucket = aws.s3.Bucket(f"{name}-bucket", force_destroy=force_destroy, tags=tags, opts=opts)
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    block = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                ),
                bucket_key_enabled=bucket_key_enabled,
            )
        ],
        opts=opts,
    )
    return PrivateBucket(bucket, block, encryption)
