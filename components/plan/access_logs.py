"""Pure decisions for ALB access logs (no Pulumi): who may deliver them, and where.

ELB writes access logs only to an SSE-S3 bucket (ALB Guide, "Access logs for your Application
Load Balancer": "the only server-side encryption option that's supported is Amazon S3-managed
keys (SSE-S3)"), under `<prefix>/AWSLogs/<account>/`.
"""

from __future__ import annotations

# Regions whose ELB log delivery is an AWS account (terraform-provider-aws
# internal/service/elb/service_account_data_source.go accountIDPerRegionMap, after the ALB
# Guide, "Enable access logs for your Application Load Balancer", step "Attach a policy to your
# S3 bucket": regions available before August 2022 use the ELB account of the region, newer
# regions the service principal below).
ELB_ACCOUNTS = {
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-south-1": "718504428378",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ap-southeast-3": "589379963580",
    "ca-central-1": "985666609251",
    "cn-north-1": "638102146993",
    "cn-northwest-1": "037604701340",
    "eu-central-1": "054676820928",
    "eu-north-1": "897822967062",
    "eu-south-1": "635631232127",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-gov-east-1": "190560391635",
    "us-gov-west-1": "048591011584",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
}
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"
ACCESS_LOG_PREFIX = "alb"


def elb_log_principal(region: str, partition: str = "aws") -> dict[str, str]:
    """Who writes ALB access logs in a region: its ELB account, or the log-delivery service."""
    account = ELB_ACCOUNTS.get(region)
    if account:
        return {"AWS": f"arn:{partition}:iam::{account}:root"}
    return {"Service": ELB_LOG_DELIVERY}


def access_log_bucket_policy(bucket_arn: str, account: str, region: str, partition: str) -> dict:
    """ELB may put objects under `<prefix>/AWSLogs/<account>/` only; nobody may use plain HTTP."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ElbLogDelivery",
                "Effect": "Allow",
                "Principal": elb_log_principal(region, partition),
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{ACCESS_LOG_PREFIX}/AWSLogs/{account}/*",
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
