"""VmFleet: what every web tier shares, Linux or Windows.

An instance role that can read only its own artifacts and SSM parameters, a launch template with
IMDSv2 and an encrypted gp3 root, and either an auto scaling group behind the ALB (ELB health checks,
rolling instance refresh, wait for healthy capacity) or one fixed instance with an Elastic IP (the
Nginx edge, replaced when its user data changes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pulumi
import pulumi_aws as aws
from pulumi import Input, Output, ResourceOptions

from components.aws.artifacts import store_secure_strings, upload_app_package
from components.aws.context import AwsContext, lookup_aws_context
from components.plan.iam import instance_role_policy, ssm_prefix, ssm_scope
from components.plan.images import image_reference, root_device_name
from components.plan.naming import role_name
from components.plan.observability import windows_agent_installer
from components.plan.tier import TierPlan
from components.render.common import CloudRefs

GROUP_METRICS = ("GroupInServiceInstances", "GroupDesiredCapacity", "GroupMinSize")


@dataclass(frozen=True, kw_only=True)
class TierArgs:
    """What every web tier receives from the stack that composes it: its plan (the app and what
    was decided for it, components/plan/tier.py) and IDs, never the whole config."""

    plan: TierPlan
    subnet_ids: Input[list[str]]
    security_group_id: Input[str]
    bucket_name: Input[str]
    bucket_arn: Input[str]
    secrets: dict[str, Input[str]] = field(default_factory=dict)
    target_group_arn: Input[str] | None = None
    project_root: Path = field(default_factory=Path.cwd)
    build_dir: Path = field(default_factory=lambda: Path(".webstack-build"))
    tags: dict[str, str] = field(default_factory=dict)
    # `/webstack/<project>/<stack>/<owner>` (iam_plan.ssm_scope); None: owner = the tier's name.
    ssm_scope: str | None = None
    # What a first boot needs besides its own package and secrets: NAT routes, the listener rule
    # of its target group... (components count as all their children).
    boot_after: list[pulumi.Resource] = field(default_factory=list)
    # Account, region, partition (WebStack looks them up once); None: the tier looks them up.
    context: AwsContext | None = None


@dataclass(frozen=True)
class StagedApp:
    """What a tier's VMs will ask for at boot, staged before they exist."""

    ssm_prefix: str
    refs: Output[CloudRefs]  # region, bucket, package key, SSM prefix (and the edge certificate)
    depends_on: list[pulumi.Resource]  # SecureStrings and package: a VM must boot after them
    # Each SecureString by its name (the release pointer digests their versions).
    secret_params: dict[str, aws.ssm.Parameter] = field(default_factory=dict)


def stage_app(
    name: str,
    args: TierArgs,
    parent: pulumi.Resource,
    extra_secrets: dict[str, Input[str]] | None = None,
    tls_cert_pem: Input[str] | None = None,
) -> StagedApp:
    """Store the app's secrets as SecureStrings and upload its package, for either tier."""
    app = args.plan.app
    scope = args.ssm_scope or ssm_scope(pulumi.get_project(), pulumi.get_stack(), name)
    # The one SSM path of this app: the bootstrap (CloudRefs) and the role policy both read it.
    prefix = ssm_prefix(scope, app.name)
    secret_values = {**{k: args.secrets[k] for k in app.secrets}, **(extra_secrets or {})}
    params = store_secure_strings(name, prefix, secret_values, app.name, args.tags, parent)
    package_key, uploads = upload_app_package(
        name, app, args.bucket_name, args.project_root, args.build_dir, parent
    )
    region = (args.context or lookup_aws_context(parent)).region
    cert = tls_cert_pem if tls_cert_pem is not None else ""
    refs = Output.all(region, args.bucket_name, cert).apply(
        lambda v: CloudRefs(
            region=v[0],
            bucket=v[1],
            package_key=package_key,
            ssm_prefix=prefix,
            tls_cert_pem=v[2] or None,
        )
    )
    return StagedApp(
        ssm_prefix=prefix,
        refs=refs,
        depends_on=[*params, *uploads, *args.boot_after],
        secret_params=dict(zip(sorted(secret_values), params, strict=True)),
    )


@dataclass(frozen=True, kw_only=True)
class VmFleetArgs:
    app: str
    environment: str
    image: str
    instance_type: str
    root_volume_gb: int
    subnet_ids: Input[list[str]]
    security_group_ids: list[Input[str]]
    user_data_base64: Input[str]
    artifact_bucket_arn: Input[str]
    artifact_prefixes: list[str]
    ssm_prefix: str
    mode: Literal["asg", "single"] = "asg"
    min_size: int = 1
    max_size: int = 1
    desired: int = 1
    target_group_arns: list[Input[str]] = field(default_factory=list)
    health_check_grace_seconds: int = 300
    cpu_target_percent: float = 60.0
    # 1 keeps IMDS away from containers on the host; raise to 2 only if the app runs in one.
    metadata_hop_limit: int = 1
    # (log group prefix, metrics namespace) the CloudWatch agent writes to; None: no agent.
    telemetry: tuple[str, str] | None = None
    # Windows: the role may read the CloudWatch agent MSI from AWS's regional bucket.
    agent_installer: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    context: AwsContext | None = None  # None: the fleet looks up account, region, partition


class VmFleet(pulumi.ComponentResource):
    role_arn: Output[str]
    launch_template_id: Output[str] | None
    # The ASG's template version: a change starts an instance refresh the rollout waits for.
    launch_template_version: Output[int] | None
    asg_name: Output[str] | None
    instance_id: Output[str] | None
    public_ip: Output[str] | None

    def __init__(self, name: str, args: VmFleetArgs, opts: ResourceOptions | None = None) -> None:
        super().__init__("webstack:fleet:VmFleet", name, None, opts)
        self._name, self._args = name, args
        role, profile, policy = self._role()
        self.asg_name = None
        self.instance_id = None
        self.public_ip = None
        self.launch_template_id = None
        self.launch_template_version = None
        # A VM's first boot reads its package and secrets, so the role's policy must exist first,
        # and so must what the fleet itself was told to wait for (the tier's secrets, package,
        # NAT routes, listener rule): Pulumi does not pass a component's depends_on to children.
        boots = ResourceOptions(parent=self, depends_on=[policy, *_depends_on(opts)])
        if args.mode == "asg":
            self._group(profile, boots)
        else:
            self._single_vm(profile, boots)
        self.role_arn = role.arn
        self.register_outputs(
            {
                "role_arn": self.role_arn,
                "launch_template_id": self.launch_template_id,
                "asg_name": self.asg_name,
                "instance_id": self.instance_id,
                "public_ip": self.public_ip,
            }
        )

    def _role(self) -> tuple[aws.iam.Role, aws.iam.InstanceProfile, aws.iam.RolePolicy]:
        """The instance role, its one inline policy and the instance profile."""
        name, args, child = self._name, self._args, ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-role",
            # `<logical>-<7 hex>` can pass IAM's 64 characters: an explicit name that fits.
            name=role_name(name, f"{pulumi.get_project()}/{pulumi.get_stack()}"),
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "ec2.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=args.tags,
            opts=child,
        )
        # No AmazonSSMManagedInstanceCore: it reads every parameter of the account. One inline
        # policy holds all the role may do (Session Manager + its own artifacts and parameters).
        ctx = args.context or lookup_aws_context(self)
        policy = aws.iam.RolePolicy(
            f"{name}-read-own",
            role=role.id,
            policy=Output.all(
                args.artifact_bucket_arn, ctx.account_id, ctx.region, ctx.partition
            ).apply(lambda v: _own_resources_policy(args, *v)),
            opts=child,
        )
        profile = aws.iam.InstanceProfile(
            f"{name}-profile", role=role.name, tags=args.tags, opts=child
        )
        return role, profile, policy

    def _metadata(self) -> dict[str, Any]:
        """IMDSv2 only, the hop limit of the args, no instance tags in the metadata."""
        return dict(
            http_endpoint="enabled",
            http_tokens="required",
            http_put_response_hop_limit=self._args.metadata_hop_limit,
            instance_metadata_tags="disabled",
        )

    def _launch_template(
        self, profile: aws.iam.InstanceProfile, boots: ResourceOptions
    ) -> aws.ec2.LaunchTemplate:
        name, args, metadata = self._name, self._args, self._metadata()
        image = image_reference(args.image, args.instance_type)
        template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            image_id=image,
            instance_type=args.instance_type,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            vpc_security_group_ids=args.security_group_ids,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(**metadata),
            block_device_mappings=[_root_device_mapping(args)],
            monitoring=aws.ec2.LaunchTemplateMonitoringArgs(enabled=True),
            user_data=args.user_data_base64,
            update_default_version=True,
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(
                    resource_type=kind, tags={**args.tags, "Name": f"{name}"}
                )
                for kind in ("instance", "volume")
            ],
            tags=args.tags,
            opts=boots,
        )
        self.launch_template_id = template.id
        self.launch_template_version = template.latest_version
        return template

    def _group(self, profile: aws.iam.InstanceProfile, boots: ResourceOptions) -> None:
        """The Auto Scaling group on the launch template (and its CPU policy when it may scale)."""
        name, args, child = self._name, self._args, ResourceOptions(parent=self)
        template = self._launch_template(profile, boots)
        group = aws.autoscaling.Group(
            f"{name}-asg",
            vpc_zone_identifiers=args.subnet_ids,
            min_size=args.min_size,
            max_size=args.max_size,
            desired_capacity=args.desired,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            target_group_arns=args.target_group_arns,
            health_check_type="ELB",
            health_check_grace_period=args.health_check_grace_seconds,
            # A bootstrap that never turns healthy fails `pulumi up` instead of passing silently.
            # min_elb_capacity: at least N healthy on create only. wait_for_elb_capacity would
            # demand *exactly* N on every update that changes min_size, which times out once
            # the CPU policy has scaled out (terraform-provider-aws autoscaling/group.go
            # resourceGroupUpdate). Updates are gated by the instance refresh (100 % healthy).
            min_elb_capacity=args.desired,
            wait_for_capacity_timeout="25m",
            instance_refresh=aws.autoscaling.GroupInstanceRefreshArgs(
                strategy="Rolling",
                preferences=aws.autoscaling.GroupInstanceRefreshPreferencesArgs(
                    min_healthy_percentage=100,
                    max_healthy_percentage=200,
                    instance_warmup=str(args.health_check_grace_seconds),
                    auto_rollback=True,
                ),
            ),
            termination_policies=["OldestLaunchTemplate", "OldestInstance"],
            # GroupInServiceInstances feeds the "in service below minimum" alarm; ASG group
            # metrics are off unless listed (EC2 Auto Scaling User Guide, "CloudWatch
            # metrics for Amazon EC2 Auto Scaling"; 1Minute is the only granularity).
            enabled_metrics=list(GROUP_METRICS) if args.telemetry else None,
            metrics_granularity="1Minute" if args.telemetry else None,
            tags=[
                aws.autoscaling.GroupTagArgs(key=k, value=v, propagate_at_launch=True)
                for k, v in sorted({**args.tags, "Name": name}.items())
            ],
            # The scaling policy owns the desired count once the group exists.
            opts=ResourceOptions.merge(boots, ResourceOptions(ignore_changes=["desired_capacity"])),
        )
        if args.max_size > args.min_size:
            aws.autoscaling.Policy(
                f"{name}-cpu-target",
                autoscaling_group_name=group.name,
                policy_type="TargetTrackingScaling",
                estimated_instance_warmup=args.health_check_grace_seconds,
                target_tracking_configuration=aws.autoscaling.PolicyTargetTrackingConfigurationArgs(
                    predefined_metric_specification=aws.autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type="ASGAverageCPUUtilization"
                    ),
                    target_value=args.cpu_target_percent,
                ),
                opts=child,
            )
        self.asg_name = group.name

    def _single_vm(self, profile: aws.iam.InstanceProfile, boots: ResourceOptions) -> None:
        """One instance with an Elastic IP (edge.mode nginx): the VM is the edge."""
        name, args, child = self._name, self._args, ResourceOptions(parent=self)
        metadata, image = self._metadata(), image_reference(args.image, args.instance_type)
        # The image and root disk come from a launch template that EC2 resolves at launch
        # (`resolve:ssm:`): a newer public AMI changes no input, so it never replaces the VM,
        # and the VM that a new user data replaces boots the newest AMI. An `ami` input with
        # ignore_changes kept the first AMI forever: the engine reuses the old input even
        # for a replacement (pulumi/pulumi#2657). Not `ami="resolve:ssm:..."` on the
        # instance: with a root_block_device the provider looks that string up as an AMI ID
        # (hashicorp/terraform-provider-aws#43488, ec2_instance.go findRootDeviceName), so
        # the root disk is set in the template, where the ASG path already sets it.
        boot_image = aws.ec2.LaunchTemplate(
            f"{name}-image",
            image_id=image,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(**metadata),
            block_device_mappings=[_root_device_mapping(args)],
            update_default_version=True,
            tags=args.tags,
            opts=child,
        )
        instance = aws.ec2.Instance(
            f"{name}-vm",
            # An explicit version: a new one (image or disk changed) replaces the instance
            # (ec2_instance.go CustomizeDiff, ForceNew("launch_template.0.version")).
            launch_template=aws.ec2.InstanceLaunchTemplateArgs(
                id=boot_image.id, version=boot_image.latest_version.apply(str)
            ),
            instance_type=args.instance_type,
            subnet_id=Output.from_input(args.subnet_ids).apply(lambda ids: ids[0]),
            vpc_security_group_ids=args.security_group_ids,
            iam_instance_profile=profile.name,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(**metadata),
            monitoring=True,
            user_data_base64=args.user_data_base64,
            user_data_replace_on_change=True,
            # The one instance the internet may reach directly (policies key on this tag).
            tags={**args.tags, "Name": name, "webstack:role": "edge"},
            opts=boots,
        )
        # "EIP may require IGW to exist prior to association" (terraform-provider-aws,
        # website/docs/r/eip.html.markdown): the inherited depends_on holds the network.
        eip = aws.ec2.Eip(
            f"{name}-eip", domain="vpc", instance=instance.id, tags=args.tags, opts=boots
        )
        self.instance_id = instance.id
        self.public_ip = eip.public_ip


def _root_device_mapping(args: VmFleetArgs) -> aws.ec2.LaunchTemplateBlockDeviceMappingArgs:
    """The encrypted gp3 root disk, for both launch templates."""
    return aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
        device_name=root_device_name(args.image),
        ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
            volume_size=args.root_volume_gb,
            volume_type="gp3",
            encrypted="true",
            delete_on_termination="true",
        ),
    )


def _depends_on(opts: ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources a component was given in `depends_on` (a list or a single resource)."""
    deps = opts.depends_on if opts is not None else None
    if deps is None:
        return []
    return [
        d for d in (deps if isinstance(deps, list) else [deps]) if isinstance(d, pulumi.Resource)
    ]


def _own_resources_policy(
    args: VmFleetArgs, bucket_arn: str, account: str, region: str, partition: str
) -> str:
    """Session Manager plus only this app's artifacts and parameters (iam_plan)."""
    return json.dumps(
        instance_role_policy(
            bucket_arn=bucket_arn,
            artifact_prefixes=args.artifact_prefixes,
            ssm_prefix=args.ssm_prefix,
            partition=partition,
            region=region,
            account=account,
            telemetry=args.telemetry,
            agent_installer=windows_agent_installer(region) if args.agent_installer else None,
        )
    )
