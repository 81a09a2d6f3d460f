"""IAM: no policy grants every action (`*`, `*:*`), directly or through NotAction."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    Severity,
)

from .props import UNKNOWN, config, elements, get, label, mandatory, plain

# Resource type -> properties holding a policy document.
POLICY_DOCUMENTS = {
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
}
ROLE = "aws:iam/role:Role"
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
)
# AWS managed policies that grant `*` (or everything but a few services via NotAction).
FORBIDDEN_MANAGED = ["AdministratorAccess", "PowerUserAccess"]


def wildcard_statements(document: Any) -> list[str]:
    """Descriptions of Allow statements that grant every action; [] when there are none.

    `document` is a JSON string or an already-parsed object (the Pulumi providers accept both).
    """
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []
    document = plain(document)
    if not isinstance(document, Mapping):
        return []
    found = []
    for i, st in enumerate(elements(document.get("Statement"))):
        if not isinstance(st, Mapping) or st.get("Effect", "Allow") != "Allow":
            continue
        sid = st.get("Sid") or f"#{i}"
        actions = [a for a in elements(st.get("Action")) if isinstance(a, str)]
        wild = [a for a in actions if a.strip() in ("*", "*:*")]
        if wild:
            found.append(f"statement {sid} allows Action {wild[0]!r}")
        if st.get("NotAction") is not None:
            found.append(f"statement {sid} allows everything except its NotAction list")
    return found


def validate_no_wildcard_actions(args: ResourceValidationArgs, report: ReportViolation) -> None:
    t, p = args.resource_type, args.props
    what = label(t, args.name)
    why = (
        "a wildcard action hands the instance (and anyone who reaches its credentials through "
        "the app) full control of the account; grant the few actions it needs on its own resources"
    )
    docs: list[tuple[str, Any]] = [(prop, get(p, prop)) for prop in POLICY_DOCUMENTS.get(t, ())]
    if t == ROLE:
        for i, inline in enumerate(elements(get(p, "inlinePolicies"))):
            if isinstance(inline, Mapping):
                docs.append((f"inlinePolicies[{i}]", get(inline, "policy")))
    for prop, doc in docs:
        if doc is None or doc is UNKNOWN:
            continue
        for problem in wildcard_statements(doc):
            report(f"{what}: {prop} {problem}: {why}.", None)
    if t in ATTACHMENTS:
        forbidden = config(args, {"forbiddenManagedPolicies": FORBIDDEN_MANAGED})
        arn = get(p, "policyArn")
        if isinstance(arn, str) and arn.rsplit("/", 1)[-1] in forbidden["forbiddenManagedPolicies"]:
            report(f"{what} attaches {arn}, which allows '*' (or nearly): {why}.", None)
    if t == ROLE:
        for arn in elements(get(p, "managedPolicyArns")):
            if isinstance(arn, str) and arn.rsplit("/", 1)[-1] in FORBIDDEN_MANAGED:
                report(f"{what}: managedPolicyArns includes {arn}: {why}.", None)


no_wildcard_actions = mandatory(
    "iam-no-wildcard-actions",
    "IAM policies grant no '*' or '*:*' action (nor everything via NotAction), and no "
    "AdministratorAccess-style managed policy is attached.",
    validate_no_wildcard_actions,
    Severity.CRITICAL,
    config={"forbiddenManagedPolicies": {"type": "array", "items": {"type": "string"}}},
)

POLICIES: list[Any] = [no_wildcard_actions]
