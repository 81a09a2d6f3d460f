"""The RDS CA bundle URL a VM fetches, against what AWS documents (issue 17).

tests/data/rds/documented-bundle-urls.txt holds the per-region PEM URLs of AWS's RDS User Guide
tables (and the China partition's page), copied with their source; botocore's endpoints.json is
AWS's own list of regions and partitions (the SDK every VM's fetch tool uses)."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import botocore
import pytest

from components.plan.rds_ca import TRUSTSTORES, rds_ca_bundle_url, rds_partition

DOCUMENTED = Path(__file__).resolve().parents[1] / "data" / "rds" / "documented-bundle-urls.txt"
# The documented all-regions bundles: the per-region ones sit next to them on the same origin.
GLOBAL_BUNDLES = {
    "aws": "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem",
    "aws-us-gov": "https://truststore.pki.us-gov-west-1.rds.amazonaws.com/global/global-bundle.pem",
    "aws-cn": "https://rds-truststore.s3.cn-north-1.amazonaws.com.cn/global/global-bundle.pem",
}


def documented() -> list[tuple[str, str]]:
    rows = []
    for line in DOCUMENTED.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            region, url = line.split()
            rows.append((region, url))
    return rows


def botocore_partitions() -> dict[str, list[str]]:
    data = json.loads((Path(botocore.__file__).parent / "data" / "endpoints.json").read_text())
    return {p["partition"]: sorted(p["regions"]) for p in data["partitions"]}


@pytest.mark.parametrize(("region", "url"), documented())
def test_the_url_is_the_one_aws_documents_for_the_region(region: str, url: str) -> None:
    assert rds_ca_bundle_url(region) == url


def test_the_documented_table_covers_every_partition_webstack_serves() -> None:
    regions = {r for r, _ in documented()}
    assert len(regions) >= 25 and {"us-gov-east-1", "cn-northwest-1"} <= regions


def test_every_region_of_a_served_partition_gets_that_partitions_https_truststore() -> None:
    for partition, regions in botocore_partitions().items():
        for region in regions:
            if partition not in TRUSTSTORES:
                with pytest.raises(ValueError, match="publishes no RDS CA bundle URL"):
                    rds_ca_bundle_url(region)
                continue
            url = urlsplit(rds_ca_bundle_url(region))
            origin = urlsplit(GLOBAL_BUNDLES[partition])
            assert rds_partition(region) == partition, region
            assert (url.scheme, url.netloc) == ("https", origin.netloc), region
            assert url.path == f"/{region}/{region}-bundle.pem", region


def test_the_partition_list_is_still_botocores() -> None:
    """A new partition in the SDK must be decided on (served or refused), not fall to `aws`."""
    known = {"aws", "aws-cn", "aws-us-gov"} | {"aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f"}
    assert set(botocore_partitions()) <= known | {"aws-eusc"}, sorted(botocore_partitions())
