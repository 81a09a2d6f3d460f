"""Publish an app's release (Linux or Windows): its config object and the SSM pointer the VMs activate.

The pointer (`<app ssm prefix>/release`, a String parameter inside the path the instance role may
read) names the package (key + SHA-256), the content-hashed environment object and the secrets with
a digest of their SSM versions. None of it is in the user data, so a release replaces no VM and no
launch-template version (components/plan/release.py holds the pure decisions).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

from components.plan import release as release_plan
from components.plan.linux_layout import vm_layout
from components.plan.tier import TierPlan
from components.render.packaging import build_package
from components.render.release import render_app_env
from components.spec.stack import AppSpec

# SSM Standard parameters hold at most 4 KB (AWS Systems Manager User Guide,
# "Managing parameter tiers", parameter-store-advanced-parameters.html).
POINTER_LIMIT = 4096


# long: the release's config object and the SSM pointer naming it, side by side so
# the order (object before pointer) stays visible.
def publish_release(
    name: str,
    plan: TierPlan,
    app: AppSpec,
    *,
    ssm_prefix: str,
    bucket: Input[str],
    project_root: Path,
    build_dir: Path,
    secret_params: list[aws.ssm.Parameter],
    depends_on: list[pulumi.Resource],
    tags: dict[str, str],
    parent: pulumi.Resource,
    env_text: str | None = None,
) -> aws.ssm.Parameter:
    """Upload the release's environment and write the pointer (after everything it names).

    `env_text`: the tier's rendered environment (Windows); the Linux app.env by default."""
    if env_text is None:
        env_text = render_app_env(plan, app, vm_layout(app.linux.family))
    key = release_plan.config_key(app.name, env_text)
    config = aws.s3.BucketObjectv2(
        f"{name}-config",
        bucket=bucket,
        key=key,
        content=env_text,
        content_type="text/plain",
        # Like packages: a rollback's pointer may name it again (artifacts.upload_object).
        opts=ResourceOptions(parent=parent, retain_on_delete=True),
    )
    package_key, package_sha = _package(app, project_root, build_dir)
    requirement = _requirement(app)
    # A version number says nothing about the value: the pointer is plain (readable in the console).
    versions = Output.unsecret(Output.all(*[p.version for p in secret_params])).apply(
        lambda vs: release_plan.secrets_version(
            {p: v for p, v in zip(sorted(app.secrets), vs, strict=False)}
        )
    )
    pointer = versions.apply(
        lambda sv: release_plan.ReleasePointer(
            package_key=package_key,
            package_sha256=package_sha,
            config_key=key,
            config_sha256=release_plan.sha256_text(env_text),
            secrets=tuple(app.secrets),
            secrets_version=sv,
            requirement=requirement,
            release_command=tuple(app.release_command or ()),
        ).to_json()
    )
    return aws.ssm.Parameter(
        f"{name}-release",
        name=release_plan.pointer_parameter(ssm_prefix),
        type="String",
        tier="Standard",
        # insecure_value: the provider marks `value` secret always; the pointer holds no secret
        # and stays readable in `pulumi preview` diffs (pulumi_aws/ssm/parameter.py).
        insecure_value=pointer.apply(_fits),
        description=f"webstack release pointer of {app.name}",
        tags=tags,
        opts=ResourceOptions(parent=parent, depends_on=[config, *secret_params, *depends_on]),
    )


def _requirement(app: AppSpec) -> str:
    source = app.source_or_default
    if source.kind == "requirement":
        return source.requirement or ""
    if source.kind == "git":
        return f"git+{source.git}@{source.ref}"
    return ""


def _package(app: AppSpec, project_root: Path, build_dir: Path) -> tuple[str, str]:
    source = app.source_or_default
    if source.kind != "path" or source.path is None:
        return "", ""
    path, key = build_package(project_root / source.path, build_dir, app.name)
    return key, hashlib.sha256(path.read_bytes()).hexdigest()


def _fits(value: str) -> str:
    if len(value.encode()) > POINTER_LIMIT:
        raise ValueError(f"release pointer is {len(value)} bytes; SSM Standard allows 4096")
    return value
