"""IAM policy documents under test: a real linter (parliament) and a small evaluator.

The evaluator follows IAM's policy evaluation logic for identity policies of one account
(docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html): an explicit
Deny wins, else any Allow, else the implicit deny. Action and Resource values match with IAM's
wildcards (`*` any run of characters, `?` one; actions case-insensitively). A statement with a
Condition is taken as applying when it allows and as not applying when it denies, so a "cannot
read X" answer holds whatever the condition's context.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import json
import re
import sys
import types
from collections.abc import Iterable
from typing import Any

import pytest

from components.tooling.mocks import ACCOUNT, REGION, RecordedResource

# AmazonSSMManagedInstanceCore v2, as AWS publishes it
# (docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonSSMManagedInstanceCore.html):
# what an attachment of it grants, so the evaluator can see through a managed-policy ARN.
SSM_MANAGED_INSTANCE_CORE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ssm:DescribeAssociation",
                "ssm:GetDeployablePatchSnapshotForInstance",
                "ssm:GetDocument",
                "ssm:DescribeDocument",
                "ssm:GetManifest",
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:ListAssociations",
                "ssm:ListInstanceAssociations",
                "ssm:PutInventory",
                "ssm:PutComplianceItems",
                "ssm:PutConfigurePackageResult",
                "ssm:UpdateAssociationStatus",
                "ssm:UpdateInstanceAssociationStatus",
                "ssm:UpdateInstanceInformation",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": [
                "ec2messages:AcknowledgeMessage",
                "ec2messages:DeleteMessage",
                "ec2messages:FailMessage",
                "ec2messages:GetEndpoint",
                "ec2messages:GetMessages",
                "ec2messages:SendReply",
            ],
            "Resource": "*",
        },
    ],
}
MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore": SSM_MANAGED_INSTANCE_CORE,
}
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ROLE = "aws:iam/role:Role"


# -- the linter ----------------------------------------------------------------------------------
def _parliament() -> types.ModuleType:
    """parliament, importable on setuptools >= 81 too.

    parliament 1.6.4 (`parliament/__init__.py`) imports `pkg_resources` only to find two data
    files of its own package; setuptools 81 dropped `pkg_resources`. A stand-in with that one
    function keeps the real linter and its real data.
    """
    if importlib.util.find_spec("parliament") is None:
        pytest.fail("parliament (the IAM linter) is missing: .venv/bin/pip install -e '.[dev]'")
    if "pkg_resources" not in sys.modules and importlib.util.find_spec("pkg_resources") is None:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = lambda pkg, name: str(  # type: ignore[attr-defined]
            importlib.resources.files(pkg) / name
        )
        sys.modules["pkg_resources"] = shim
    import parliament

    return parliament


def lint(document: dict[str, Any] | str) -> list[str]:
    """parliament's findings for one policy document (empty: nothing to report)."""
    parliament = _parliament()
    text = document if isinstance(document, str) else json.dumps(document)
    analyzed = parliament.analyze_policy_string(
        text, include_community_auditors=True, ignore_private_auditors=True
    )
    return [f"{f.issue}: {f.detail} at {f.location}" for f in analyzed.findings]


# -- the evaluator -------------------------------------------------------------------------------
def _pattern(glob: str, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{body}$", re.IGNORECASE if ignore_case else 0)


def _listed(value: Any) -> list[str]:
    return [] if value is None else [value] if isinstance(value, str) else list(value)


def _matches(statement: dict[str, Any], key: str, value: str, ignore_case: bool) -> bool:
    if key in statement:
        return any(_pattern(p, ignore_case).match(value) for p in _listed(statement[key]))
    negated = f"Not{key}"
    if negated in statement:
        return not any(_pattern(p, ignore_case).match(value) for p in _listed(statement[negated]))
    return False


def _condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    """StringEquals only (the one operator the role policies use); anything else is refused so
    the evaluator never guesses."""
    for operator, pairs in condition.items():
        if operator != "StringEquals":
            raise NotImplementedError(f"condition operator {operator}")
        for key, wanted in pairs.items():
            if context.get(key) not in _listed(wanted):
                return False
    return True


def decide(
    documents: Iterable[dict[str, Any]],
    action: str,
    resource: str,
    context: dict[str, str] | None = None,
) -> str:
    """ "allow", "deny" (explicit) or "implicit-deny" for one request (with condition keys)."""
    allowed = False
    for doc in documents:
        for st in (
            _listed(doc["Statement"]) if isinstance(doc["Statement"], list) else [doc["Statement"]]
        ):
            if not (
                _matches(st, "Action", action, ignore_case=True)
                and _matches(st, "Resource", resource, ignore_case=False)
            ):
                continue
            if st["Effect"] == "Deny" and "Condition" not in st:
                return "deny"
            if st["Effect"] == "Allow" and (
                "Condition" not in st or _condition_holds(st["Condition"], context or {})
            ):
                allowed = True
    return "allow" if allowed else "implicit-deny"


def parameter_arn(path: str) -> str:
    """A parameter's ARN in the mocks' account and region."""
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{path.lstrip('/')}"


# -- documents of a recorded stack ---------------------------------------------------------------
def role_documents(resources: list[RecordedResource], role: RecordedResource) -> list[dict]:
    """Every identity policy document in force for `role`: inline policies and attachments."""
    keys = {role.id, role.name, role.outputs.get("name"), role.outputs.get("arn")}
    docs: list[dict[str, Any]] = []
    for r in resources:
        if r.inputs.get("role") not in keys:
            continue
        if r.type == ROLE_POLICY:
            docs.append(json.loads(r.inputs["policy"]))
        elif r.type == ATTACHMENT:
            arn = r.inputs["policyArn"]
            assert arn in MANAGED_POLICIES, f"{r.name}: unknown managed policy {arn}"
            docs.append(MANAGED_POLICIES[arn])
    return docs


def policy_documents(resources: list[RecordedResource]) -> dict[str, tuple[dict, bool]]:
    """name -> (document, is a resource policy) for every IAM document the stack writes."""
    found: dict[str, tuple[dict, bool]] = {}
    for r in resources:
        if r.type == ROLE_POLICY:
            found[r.name] = (json.loads(r.inputs["policy"]), False)
        elif r.type == ROLE:
            found[f"{r.name} (trust)"] = (json.loads(r.inputs["assumeRolePolicy"]), True)
        elif r.type == "aws:s3/bucketPolicy:BucketPolicy":
            found[r.name] = (json.loads(r.inputs["policy"]), True)
        elif r.type == ATTACHMENT:
            found[r.name] = (MANAGED_POLICIES[r.inputs["policyArn"]], False)
    return found
