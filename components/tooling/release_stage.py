"""Publish a release with boto3 (no Pulumi): the boot rehearsal's and the tests' stand-in for what
`pulumi up` does (components/release_pointer.py): upload the config object, write the pointer."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from components.plan import release as release_plan
from components.plan.linux_layout import HostLayout
from components.plan.tier import TierPlan
from components.render.release import render_app_env
from components.spec.stack import AppSpec


def publish_pointer(
    s3: Any,
    ssm: Any,
    plan: TierPlan,
    app: AppSpec,
    layout: HostLayout,
    *,
    bucket: str,
    ssm_prefix: str,
    package: Path | None,
    package_key: str,
    secrets: tuple[str, ...] | None = None,
) -> str:
    """Upload app.env, write `<prefix>/release` naming it and the package; return the release id."""
    env_text = render_app_env(plan, app, layout)
    config_key = release_plan.config_key(app.name, env_text)
    s3.put_object(Bucket=bucket, Key=config_key, Body=env_text.encode())
    names = tuple(app.secrets) if secrets is None else secrets
    versions: dict[str, int | str] = {}
    for name in names:
        try:
            versions[name] = ssm.get_parameter(Name=f"{ssm_prefix}/{name}")["Parameter"]["Version"]
        except ssm.exceptions.ParameterNotFound:
            versions[name] = 0
    source = app.source_or_default
    pointer = release_plan.ReleasePointer(
        package_key=package_key if package is not None else "",
        package_sha256=hashlib.sha256(package.read_bytes()).hexdigest() if package else "",
        config_key=config_key,
        config_sha256=release_plan.sha256_text(env_text),
        secrets=names,
        secrets_version=release_plan.secrets_version(versions),
        requirement=source.requirement or "" if source.kind == "requirement" else "",
        release_command=tuple(app.release_command or ()),
    )
    ssm.put_parameter(
        Name=release_plan.pointer_parameter(ssm_prefix),
        Value=pointer.to_json(),
        Type="String",
        Overwrite=True,
    )
    return pointer.release_id
