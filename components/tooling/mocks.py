"""Run a WebStack in-process under Pulumi mocks: no cloud calls, no CLI.

The mocks answer like AWS would (realistic ID/ARN shapes, computed attributes the program reads),
and record every resource with its inputs, so tests and `webstack preview` can inspect the graph.
IDs and cloud-computed values are placeholders.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from components.aws.webstack import build_stack

ACCOUNT = "123456789012"
REGION = "eu-west-1"


@dataclass
class RecordedResource:
    type: str
    name: str
    inputs: dict[str, Any]
    parent: str | None = None
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)


def _hex(name: str, n: int = 17) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:n]


# Resource type -> (ID prefix, ARN service or None)
_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt-",
    "aws:ec2/instance:Instance": "i-",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "sgr-",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "sgr-",
    "aws:rds/instance:Instance": "db-",
}


class WebstackMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[RecordedResource] = []
        self.calls: list[str] = []  # every invoke's token, in order

    # Long: one branch per resource type whose outputs the components read (a table in code).
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        t, name, inputs = args.typ, args.name, dict(args.inputs)
        rid = _ID_PREFIX.get(t, "") + _hex(name)
        arn_base = f"arn:aws:{t.split(':')[1].split('/')[0]}:{REGION}:{ACCOUNT}"
        out: dict[str, Any] = {**inputs, "arn": f"{arn_base}:{t.split(':')[-1].lower()}/{name}"}
        if t == "aws:s3/bucket:Bucket":
            bucket = f"{name}-{_hex(name, 7)}"
            rid = bucket
            out.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}")
        elif t == "aws:lb/loadBalancer:LoadBalancer":
            out.update(
                dns_name=f"{name}-{_hex(name, 9)}.{REGION}.elb.amazonaws.com",
                zone_id="Z32O12XQLNTSW2",
                arn=f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/{name[:20]}/{_hex(name, 16)}",
                # CloudWatch's LoadBalancer dimension: the ARN after `loadbalancer/`.
                arnSuffix=f"app/{name[:20]}/{_hex(name, 16)}",
            )
        elif t == "aws:lb/targetGroup:TargetGroup":
            out["arn"] = (
                f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{name[:20]}/{_hex(name, 16)}"
            )
            out["arnSuffix"] = f"targetgroup/{name[:20]}/{_hex(name, 16)}"
        elif t == "aws:lb/listener:Listener":
            out["arn"] = (
                f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/{_hex(name, 16)}"
            )
        elif t == "aws:acm/certificate:Certificate":
            domains = [
                inputs.get("domainName") or "imported",
                *inputs.get("subjectAlternativeNames", []),
            ]
            out["arn"] = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/{_hex(name, 32)}"
            out["domainValidationOptions"] = [
                {
                    "domainName": d,
                    "resourceRecordName": f"_{_hex(d, 12)}.{d.removeprefix('*.')}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_{_hex(d + 'v', 12)}.acm-validations.aws.",
                }
                for d in domains
            ]
        elif t == "aws:acm/certificateValidation:CertificateValidation":
            out["certificateArn"] = inputs.get("certificateArn")
        elif t == "aws:route53/record:Record":
            out["fqdn"] = str(inputs.get("name", name)).rstrip(".")
        elif t == "aws:ec2/launchTemplate:LaunchTemplate":
            out.update(latestVersion=1, defaultVersion=1)
        elif t == "aws:autoscaling/group:Group":
            rid = name
            out["name"] = name
        elif t == "aws:ec2/instance:Instance":
            out.update(privateIp="10.40.0.10", publicIp="")
        elif t == "aws:sns/topic:Topic":
            out["arn"] = f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}-{_hex(name, 7)}"
        elif t == "aws:ec2/eip:Eip":
            out["publicIp"] = "203.0.113.10"
        elif t in ("aws:iam/role:Role", "aws:iam/instanceProfile:InstanceProfile"):
            kind = "role" if t.endswith("Role") else "instance-profile"
            rid = name
            out.update(name=name, arn=f"arn:aws:iam::{ACCOUNT}:{kind}/{name}")
        elif t == "tls:index/privateKey:PrivateKey":
            out["privateKeyPem"] = (
                "-----BEGIN PRIVATE KEY-----\nMOCK-KEY\n-----END PRIVATE KEY-----\n"
            )
        elif t == "tls:index/selfSignedCert:SelfSignedCert":
            out["certPem"] = "-----BEGIN CERTIFICATE-----\nMOCKCERT\n-----END CERTIFICATE-----\n"
        elif t == "aws:ssm/parameter:Parameter":
            out["arn"] = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{inputs.get('name')}"
            # AWS counts versions up on every new value; a stand-in that differs when it does.
            out["version"] = int(_hex(str(inputs.get("value")), 6), 16)
        elif t == "aws:ec2/vpc:Vpc":
            out["cidrBlock"] = inputs.get("cidrBlock")
        elif t == "random:index/randomPassword:RandomPassword":
            # A recognisable value, so the secret-leak tests can look for it everywhere.
            out["result"] = "MockDbPassword" + _hex(name, 26)
        elif t == "random:index/randomId:RandomId":
            # The provider's hex is 2 * byte_length lowercase hex digits; keepers change it.
            seed = f"{name}{sorted((inputs.get('keepers') or {}).items())}"
            out["hex"] = _hex(seed, 2 * int(inputs.get("byteLength", 4)))
        elif t == "aws:rds/instance:Instance":
            ident = inputs.get("identifier", name)
            out.update(
                address=f"{ident}.{_hex(name, 12)}.{REGION}.rds.amazonaws.com",
                port=5432,
                arn=f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{ident}",
            )
        self.resources.append(
            RecordedResource(type=t, name=name, inputs=inputs, id=rid, outputs=out)
        )
        return rid, out

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        token = args.token
        self.calls.append(token)
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{REGION}{z}" for z in "abc"]
            return {"names": names, "zoneIds": [f"euw1-az{i}" for i in (1, 2, 3)], "id": REGION}, []
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT,
                "arn": f"arn:aws:iam::{ACCOUNT}:user/mock",
                "userId": "AIDAMOCK",
                "id": ACCOUNT,
            }, []
        if token == "aws:index/getRegion:getRegion":
            return {
                "region": REGION,
                "name": REGION,
                "id": REGION,
                "endpoint": "ec2.amazonaws.com",
            }, []
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        if token == "aws:ssm/getParameter:getParameter":
            ami = "ami-0" + _hex(str(args.args.get("name")), 16)
            return {
                "name": args.args.get("name"),
                "value": ami,
                "insecureValue": ami,
                "type": "String",
            }, []
        return {}, []


def run_under_mocks(
    build: Callable[[], Any], project: str = "webstack", stack: str = "dev"
) -> tuple[WebstackMocks, Any]:
    """Build resources under fresh mocks and wait until every output settles.

    `build` creates the resources and returns something to resolve (e.g. a dict of Outputs);
    the resolved value is returned with the mocks that recorded the graph.
    """
    mocks = WebstackMocks()
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False)
    result: dict[str, Any] = {}

    parents: dict[tuple[str, str], str | None] = {}

    def _record_parent(args: pulumi.ResourceTransformationArgs) -> None:
        parent = args.opts.parent if args.opts else None
        # The mocks never see the parent, so the SDK-side transformation records it.
        parents[(args.type_, args.name)] = getattr(parent, "_name", None)
        return None

    @pulumi.runtime.test
    def _run() -> pulumi.Output[Any]:
        pulumi.runtime.register_stack_transformation(_record_parent)
        outputs = build()
        return pulumi.Output.from_input(outputs).apply(lambda v: result.setdefault("value", v))

    _run()
    for res in mocks.resources:
        res.parent = parents.get((res.type, res.name))
    return mocks, result.get("value")


def build_webstack(
    spec: Any, secrets: dict[str, dict[str, str]], project_root: Path, build_dir: Path
) -> Callable[[], Any]:
    """A `build` for run_under_mocks that composes the WebStack of a spec and returns its outputs."""

    def build() -> dict[str, Any]:

        return build_stack(spec, secrets, project_root, build_dir)[1]

    return build
