"""ArtifactStore: one private bucket per stack for app packages and bootstrap files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

from components.aws.buckets import private_bucket
from components.render.packaging import build_package
from components.spec.stack import AppSpec


@dataclass(frozen=True, kw_only=True)
class ArtifactStoreArgs:
    # Empty the bucket on `pulumi destroy` (dev stacks); ignored when keep_on_destroy is set.
    force_destroy: bool = False
    # Production: `pulumi destroy` leaves the bucket, its settings and every package in place.
    keep_on_destroy: bool = False
    tags: dict[str, str] = field(default_factory=dict)


class ArtifactStore(pulumi.ComponentResource):
    bucket_name: Output[str]
    bucket_arn: Output[str]

    def __init__(
        self, name: str, args: ArtifactStoreArgs, opts: ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:artifacts:ArtifactStore", name, None, opts)
        # retain_on_delete: Pulumi never calls the provider's Delete (pulumi/pulumi
        # sdk/python/lib/pulumi/resource.py, ResourceOptions.retain_on_delete). The bucket's
        # settings are kept with it, so a kept bucket stays private, encrypted and TLS-only.
        child = ResourceOptions(parent=self, retain_on_delete=args.keep_on_destroy or None)
        store = private_bucket(
            name,
            force_destroy=args.force_destroy and not args.keep_on_destroy,
            tags=args.tags,
            opts=child,
            bucket_key_enabled=True,
        )
        bucket, block = store.bucket, store.public_access_block
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled"
            ),
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(_tls_only_policy),
            opts=ResourceOptions.merge(child, ResourceOptions(depends_on=[block])),
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})


def upload_object(
    resource_name: str, bucket: Input[str], key: str, path: str, parent: pulumi.Resource
) -> aws.s3.BucketObjectv2:
    """Upload a local file under `key`; keys carry a content hash, so an object never changes.

    A new release replaces the object resource, and deleting an object of a versioned bucket
    removes every version of it (terraform-provider-aws internal/service/s3/object.go,
    resourceObjectDelete -> deleteAllObjectVersions). Old launch-template versions (rollback,
    scale-out during an instance refresh) still name the old key, so the object is retained:
    a dev bucket is emptied by force_destroy, a production bucket keeps every package.
    """
    return aws.s3.BucketObjectv2(
        resource_name,
        bucket=bucket,
        key=key,
        source=pulumi.FileAsset(path),
        opts=ResourceOptions(parent=parent, retain_on_delete=True),
    )


def store_secure_strings(
    name: str,
    prefix: str,
    values: dict[str, Input[str]],
    app: str,
    tags: dict[str, str],
    parent: pulumi.Resource,
) -> list[pulumi.Resource]:
    """Each value as an SSM SecureString `<prefix>/<key>`: what the instance role may read."""
    return [
        aws.ssm.Parameter(
            f"{name}-secret-{key.lower()}",
            name=f"{prefix}/{key}",
            type="SecureString",
            value=Output.secret(value),
            description=f"webstack secret {key} of {app}",
            tags=tags,
            opts=ResourceOptions(parent=parent),
        )
        for key, value in sorted(values.items())
    ]


def upload_app_package(
    name: str,
    app: AppSpec,
    bucket: Input[str],
    project_root: Path,
    build_dir: Path,
    parent: pulumi.Resource,
) -> tuple[str, list[pulumi.Resource]]:
    """Package a local-folder source and upload it; ("", []) for pip/git sources."""
    source = app.source_or_default
    if source.kind != "path" or source.path is None:
        return "", []
    path, key = build_package(project_root / source.path, build_dir, app.name)
    return key, [upload_object(f"{name}-package", bucket, key, str(path), parent)]


def _tls_only_policy(arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )
