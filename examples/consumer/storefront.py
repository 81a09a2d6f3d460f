"""The storefront team's platform, composed from the webstack components (no WebStack).

What differs from webstack's own stack: the team's own network range and tags, a certificate
they already have in ACM (bring your own), and both services behind ONE shared ALB, routed by
path: the catalog (Linux: Nginx -> Gunicorn) at `/`, the reports service (Windows: Waitress
behind Nginx) at `/reports/`. No smoke-check command: their pipeline tests the URL itself.

The Windows half joins as soon as the installed webstack has `components.aws.windows_tier`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pulumi
from pulumi import Output

from components.aws.alb import Alb, AlbArgs, AlbRoute
from components.aws.artifacts import ArtifactStore, ArtifactStoreArgs
from components.aws.linux_tier import LinuxWebTier, LinuxWebTierArgs
from components.aws.network import Network, NetworkArgs
from components.aws.security import SecurityGroups, SecurityGroupsArgs
from components.aws.tls import Certificate, CertificateArgs
from components.plan.checks import parse_stack_spec
from components.plan.timeouts import timeout_chain
from components.spec.stack import StackSpec

HERE = Path(__file__).resolve().parent
TAGS = {"team": "storefront", "cost-center": "retail-42", "managed-by": "pulumi"}
CERTIFICATE_ARN = (
    "arn:aws:acm:eu-west-1:123456789012:certificate/0b5e1c2d-3f4a-4b6c-8d9e-0f1a2b3c4d5e"
)
WINDOWS_TIER_AVAILABLE = importlib.util.find_spec("components.aws.windows_tier") is not None

CATALOG = {
    "name": "catalog",
    "framework": "flask",
    "wsgi": "app:create_app()",
    "source": {"path": "apps/catalog"},
    "path_prefix": "/",
    "static": None,
    "linux": {
        "image": "debian-12",
        "instance_type": "t3.small",
        "capacity": {"min": 2, "max": 4},
        "gunicorn": {"workers": 3, "threads": 2},
    },
}
REPORTS = {
    "name": "reports",
    "framework": "flask",
    "wsgi": "app:create_app()",
    "os": "windows",
    "source": {"path": "apps/reports"},
    "path_prefix": "/reports/",
    "static": None,
    "windows": {"proxy": "nginx", "instances": 2, "instance_type": "t3.medium"},
}


def storefront_spec(environment: str, with_windows: bool = WINDOWS_TIER_AVAILABLE) -> StackSpec:
    """The team's settings, validated by webstack's own models (SpecError on a mistake)."""
    return parse_stack_spec(
        {
            "environment": environment,
            "request_timeout": 20,
            "network": {"cidr": "10.70.0.0/16", "az_count": 2, "nat": "single"},
            "edge": {
                "mode": "alb",
                "tls": {"mode": "existing", "certificate_arn": CERTIFICATE_ARN},
            },
            "apps": [CATALOG, REPORTS] if with_windows else [CATALOG],
        }
    )


def build_storefront(
    environment: str, project_root: Path = HERE, build_dir: Path | None = None
) -> dict[str, Any]:
    """Create the platform's resources; return the outputs to export."""
    spec = storefront_spec(environment)
    build_dir = build_dir or project_root / ".build"
    name = f"storefront-{environment}"
    network = Network(f"{name}-net", NetworkArgs(spec=spec.network, tags=TAGS))
    groups = SecurityGroups(
        f"{name}-sg",
        SecurityGroupsArgs(
            vpc_id=network.vpc_id,
            edge_mode="alb",
            apps={a.name: a.os for a in spec.apps},
            tags=TAGS,
        ),
    )
    store = ArtifactStore(f"{name}-artifacts", ArtifactStoreArgs(force_destroy=True, tags=TAGS))
    cert = Certificate(f"{name}-cert", CertificateArgs(spec=spec.edge.tls, tags=TAGS))
    assert cert.certificate_arn is not None and timeout_chain(spec).alb_idle_timeout is not None
    alb = Alb(
        f"{name}-alb",
        AlbArgs(
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            security_group_id=groups.edge_sg_id,
            certificate_arn=cert.certificate_arn,
            idle_timeout=timeout_chain(spec).alb_idle_timeout,
            routes=[
                AlbRoute(
                    app=a.name,
                    hostnames=a.hostnames,
                    path_prefix=a.path_prefix,
                    health_path=a.health_path,
                )
                for a in spec.apps
            ],
            tags=TAGS,
        ),
    )
    outputs: dict[str, Any] = {"alb_dns_name": alb.dns_name, "vpc_id": network.vpc_id}
    for app in spec.apps:
        common: dict[str, Any] = dict(
            spec=spec,
            app=app,
            subnet_ids=network.private_subnet_ids,
            security_group_id=groups.app_sg_ids[app.name],
            bucket_name=store.bucket_name,
            bucket_arn=store.bucket_arn,
            target_group_arn=alb.target_group_arns[app.name],
            project_root=project_root,
            build_dir=build_dir,
            tags={**TAGS, "service": app.name},
        )
        tier: pulumi.ComponentResource
        if app.os == "windows":
            from components.aws.windows_tier import WindowsWebTier, WindowsWebTierArgs

            tier = WindowsWebTier(f"{name}-{app.name}", WindowsWebTierArgs(**common))
        else:
            tier = LinuxWebTier(f"{name}-{app.name}", LinuxWebTierArgs(**common))
        outputs[f"{app.name}_url"] = Output.concat("https://", alb.dns_name, app.path_prefix)
        outputs[f"{app.name}_user_data_bytes"] = tier.user_data.apply(  # type: ignore[attr-defined]
            lambda text: len(text.encode())
        )
    return outputs
