"""The RDS CA bundle a VM checks its managed PostgreSQL against (`sslmode=verify-full`): where AWS
publishes it, per region, and where the VM keeps it. Pure; no Pulumi.

Ground truth, AWS RDS User Guide "Using SSL/TLS to encrypt a connection to a DB instance or
cluster" (docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html, "Certificate
bundles by AWS Region"; awsdocs/amazon-rds-user-guide doc_source/UsingWithRDS.SSL.md):
- commercial regions: https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem
  (all regions: .../global/global-bundle.pem); HTTPS only ("All certificates are only available
  for download using SSL/TLS connections");
- AWS GovCloud (US): the same shape on https://truststore.pki.us-gov-west-1.rds.amazonaws.com,
  for us-gov-east-1 too;
- China (docs.amazonaws.cn, same page): https://rds-truststore.s3.cn-north-1.amazonaws.com.cn,
  for cn-northwest-1 too (as gravitational/teleport lib/srv/db/ca.go builds it).
Other partitions (ISO, the European Sovereign Cloud) publish no documented URL: refused.

A region bundle holds that region's root and intermediate CAs (rds-ca-rsa2048-g1, -rsa4096-g1,
-ecc384-g1, ...), so the database's CA may change without a new bundle. The server certificate
names the instance endpoint ("Using SSL with a PostgreSQL DB instance": the DB instance endpoint
is the certificate's Common Name), so verify-full works with the endpoint address webstack puts
in DATABASE_URL, and fails for any other host name.
"""

from __future__ import annotations

import re
from pathlib import PurePath, PurePosixPath, PureWindowsPath

from components.plan.linux_layout import HostLayout, vm_layout
from components.plan.windows_layout import WindowsHostLayout, vm_windows_layout
from components.spec.errors import SpecError
from components.spec.stack import AppSpec

# libpq: verify-full checks the chain against sslrootcert and that the host name matches.
RDS_SSLMODE = "verify-full"
BUNDLE_FILE = "rds-ca-bundle.pem"

# partition -> truststore origin (see the module docstring for the sources)
TRUSTSTORES = {
    "aws": "https://truststore.pki.rds.amazonaws.com",
    "aws-us-gov": "https://truststore.pki.us-gov-west-1.rds.amazonaws.com",
    "aws-cn": "https://rds-truststore.s3.cn-north-1.amazonaws.com.cn",
}
_REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-[0-9]+")
# Region prefixes of partitions without a published RDS truststore (botocore endpoints.json:
# aws-iso us-iso-, aws-iso-b us-isob-, aws-iso-e eu-isoe-, aws-iso-f us-isof-, aws-eusc eusc-).
_NO_TRUSTSTORE = ("us-iso-", "us-isob-", "eu-isoe-", "us-isof-", "eusc-")


def rds_partition(region: str) -> str:
    """The partition whose truststore serves `region`; ValueError when there is none."""
    if not _REGION.fullmatch(region):
        raise ValueError(f"{region!r} is not an AWS region name")
    if region.startswith(_NO_TRUSTSTORE):
        raise ValueError(
            f"region {region}: AWS publishes no RDS CA bundle URL for its partition; "
            "a managed database there cannot be verified (verify-full)"
        )
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def rds_ca_bundle_url(region: str) -> str:
    """AWS's own per-region bundle (PEM) for the region's RDS instances."""
    return f"{TRUSTSTORES[rds_partition(region)]}/{region}/{region}-bundle.pem"


def linux_bundle_path(layout: HostLayout) -> PurePosixPath:
    """Root-owned, world-readable (public data): the app user reads it, only root replaces it."""
    return layout.etc_dir / BUNDLE_FILE


def windows_bundle_path(layout: WindowsHostLayout) -> PurePath:
    """Under the webstack root: SYSTEM and Administrators write it, the services only read it."""
    return layout.root / "tls" / BUNDLE_FILE


def vm_bundle_path(app: AppSpec) -> str:
    """The bundle's path on the app's VMs, as PGSSLROOTCERT and DATABASE_URL name it. Windows
    gets forward slashes (libpq and OpenSSL take them): a percent-escaped backslash would put a
    `%..%` pair into the service environment, which NSSM expands."""
    if app.os == "windows":
        return PureWindowsPath(windows_bundle_path(vm_windows_layout())).as_posix()
    return str(linux_bundle_path(vm_layout(app.linux.family)))


def needs_rds_ca(app: AppSpec) -> bool:
    """Only an app with a managed database fetches the bundle (nothing else talks to RDS)."""
    return app.database is not None


def rds_ca_step(app: AppSpec, region: str, path: PurePath) -> dict[str, object] | None:
    """What a bootstrap's RDS CA step needs (URL, bundle path, its download's temporary name),
    None for an app without a managed database; a SpecError for a region with no truststore."""
    if not needs_rds_ca(app):
        return None
    try:
        url = rds_ca_bundle_url(region)
    except ValueError as e:
        raise SpecError([f"apps.{app.name}.database: {e}"]) from e
    return {"url": url, "path": path, "part": path.with_name(path.name + ".part")}
