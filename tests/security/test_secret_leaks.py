"""Secrets never leave the secret channel.

Every shipped stack (and a mixed Linux + Windows stack) is built under the Pulumi mocks with known,
unique secret values. None of them may appear in:
- user data (decoded: base64, gzip) of any launch template or instance;
- any rendered file (Linux and Windows hosts, the `webstack render` tree);
- the preview: `webstack preview`'s tree and JSON, and a dump of every recorded resource input as
  `pulumi preview --diff` would print it (secret-marked values print as [secret]);
- the stack outputs, unless the output itself is marked secret.
And the values must really be in the stack, where they belong: SSM SecureString parameters whose
value is marked secret (a test that looked in the wrong place would pass vacuously).
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pulumi
import pytest

from components.plan.iam import stack_ssm_prefix
from components.plan.linux_layout import vm_layout
from components.plan.rds_ca import vm_bundle_path
from components.plan.tier import plan_tier
from components.plan.windows_layout import vm_windows_layout
from components.render.common import CloudRefs
from components.render.linux import render_linux_host
from components.render.windows import render_windows_host
from components.spec.windows import NSSM_EXPANDED
from components.tooling.mocks import build_webstack, run_under_mocks
from components.tooling.preview import format_tree, preview_stack, to_json
from components.tooling.render_tree import render_stack
from tests.policy.stacks import ALL_STACKS, ROOT, Captured, capture_any

SECRET_SIG = "4dabf18193072939515e22adb298388d"
SSM_PARAMETER = "aws:ssm/parameter:Parameter"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
MOCK_TLS_KEY = "MOCK-KEY"  # the body of the mocks' TLS private key (nginx edge)


def needles(c: Captured) -> dict[str, str]:
    """What must never appear: each secret, its base64, and the TLS private key body."""
    out: dict[str, str] = {}
    for app, values in c.secrets.items():
        for name, value in values.items():
            out[f"{app}.{name}"] = value
            out[f"{app}.{name} (base64)"] = base64.b64encode(value.encode()).decode()
    out["TLS private key"] = MOCK_TLS_KEY
    # A managed database's generated master password (the mocks' RandomPassword result).
    for r in c.resources:
        if r.type == RANDOM_PASSWORD:
            out[f"database password {r.name}"] = r.outputs["result"]
    return out


def assert_clean(where: str, text: str, c: Captured) -> None:
    leaked = [label for label, value in needles(c).items() if value in text]
    assert not leaked, f"{where} of stack {c.name} contains {', '.join(leaked)}"


def masked(value: Any) -> Any:
    """A recorded input as a preview prints it: secret-marked values as [secret]."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return "[secret]"
        return {k: masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v) for v in value]
    return value if isinstance(value, str | int | float | bool | type(None)) else repr(value)


def user_data_texts(c: Captured) -> list[tuple[str, str]]:
    out = []
    for r in c.resources:
        blob = None
        if r.type == "aws:ec2/launchTemplate:LaunchTemplate":
            blob = r.inputs.get("userData")
        elif r.type == "aws:ec2/instance:Instance":
            blob = r.inputs.get("userDataBase64") or r.inputs.get("userData")
        if blob:
            raw = base64.b64decode(blob)
            raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            out.append((r.name, raw.decode()))
    return out


@functools.cache
def stack(name: str) -> Captured:
    return capture_any(name)


@pytest.fixture(params=ALL_STACKS)
def c(request: pytest.FixtureRequest) -> Captured:
    return stack(request.param)


def test_secrets_are_where_they_belong(c: Captured) -> None:
    """Each known value is in exactly one SSM SecureString, marked secret (so previews mask it)."""
    params = [r for r in c.resources if r.type == SSM_PARAMETER]
    for app, values in c.secrets.items():
        for name, value in values.items():
            holders = [
                p
                for p in params
                if p.inputs.get("name") == f"{stack_ssm_prefix(c.name, app)}/{name}"
            ]
            assert len(holders) == 1, f"{app}.{name}: no SSM parameter holds it"
            p = holders[0]
            assert p.inputs["type"] == "SecureString"
            assert p.inputs["value"] == {
                SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270",
                "value": value,
            }, f"{app}.{name}: the SSM value must be the secret, marked secret"
    assert c.secret_values, "a stack without secrets proves nothing here"


def test_user_data_holds_no_secret(c: Captured) -> None:
    texts = user_data_texts(c)
    assert texts, "every tier carries user data"
    for name, text in texts:
        assert_clean(f"user data of {name}", text, c)


def test_rendered_files_hold_no_secret(c: Captured) -> None:
    for app in c.spec.apps:
        refs = CloudRefs(
            region="eu-west-1",
            bucket="bucket",
            package_key=f"apps/{app.name}/x.tar.gz",
            ssm_prefix=stack_ssm_prefix(c.name, app.name),
            tls_cert_pem="-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n",
        )
        if app.os == "windows":
            files = render_windows_host(plan_tier(c.spec, app), app, vm_windows_layout(), refs)
        else:
            files = render_linux_host(
                plan_tier(c.spec, app), app, vm_layout(app.linux.family), refs
            )
        assert files
        for path, content in files.items():
            assert_clean(f"rendered {path}", content, c)
    for path, content in render_stack(c.spec, ROOT, "eu-west-1", c.name).items():
        assert_clean(f"`webstack render` {path}", content, c)


def test_preview_shows_no_secret(c: Captured) -> None:
    result = preview_stack(c.spec, c.secrets, ROOT)
    assert_clean("`webstack preview` tree", format_tree(result, c.name), c)
    assert_clean("`webstack preview --json`", json.dumps(to_json(result, c.name)), c)
    dump = json.dumps(
        [{"type": r.type, "name": r.name, "inputs": masked(r.inputs)} for r in c.resources],
        indent=1,
    )
    assert "[secret]" in dump, "the dump must mask the secret-marked values"
    assert_clean("the recorded resource inputs (as a preview prints them)", dump, c)


def test_outputs_hold_no_unmarked_secret(c: Captured) -> None:
    build = build_webstack(c.spec, c.secrets, ROOT, Path(tempfile.mkdtemp(prefix="ws-sec-")))

    def with_secrecy() -> Any:
        outputs = build()
        flat: dict[str, Any] = {}
        for key, value in outputs.items():
            if isinstance(value, dict):
                flat.update({f"{key}.{k}": v for k, v in value.items()})
            elif value is not None:
                flat[key] = value
        return {
            key: pulumi.Output.all(
                pulumi.Output.from_input(out), pulumi.Output.from_input(out).is_secret()
            )
            for key, out in flat.items()
        }

    _, resolved = run_under_mocks(with_secrecy, stack=c.name)
    assert resolved, "the stack exports outputs"
    for key, (value, secret) in resolved.items():
        if not secret:
            assert_clean(f"output {key}", json.dumps(value), c)


def test_a_leak_is_caught() -> None:
    """The detectors work: a secret pasted into a plain env value shows up in what the VM gets
    (the release's config object, since env is release data, not user data)."""
    from components.plan.checks import load_stack_spec
    from tests.policy.stacks import capture_spec, known_secret

    secret = known_secret("flask-app", "APP_API_TOKEN")
    raw = {
        "environment": "leaky",
        "edge": {"mode": "nginx"},
        "network": {"nat": "none"},
        "apps": [
            {
                "name": "flask-app",
                "framework": "flask",
                "wsgi": "app:create_app()",
                "source": {"path": "examples/flask_app"},
                "secrets": ["APP_API_TOKEN"],
                "env": {"APP_DEBUG_TOKEN_COPY": secret},
            }
        ],
    }
    spec = load_stack_spec(raw, {"flask-app": {"APP_API_TOKEN"}})
    leaky = capture_spec("leaky", spec, {"flask-app": {"APP_API_TOKEN": secret}})
    with pytest.raises(AssertionError, match=r"flask-app\.APP_API_TOKEN"):
        for name, text in user_data_texts(leaky):
            assert_clean(f"user data of {name}", text, leaky)
        for r in leaky.resources:
            if r.type == "aws:s3/bucketObjectv2:BucketObjectv2" and "content" in r.inputs:
                assert_clean(f"object {r.name}", str(r.inputs["content"]), leaky)


def test_managed_database_connection_is_a_secret() -> None:
    """The managed database's DATABASE_URL and PG* variables (password included) are SecureStrings
    under the app's own path, secret-marked, and nowhere else in plain text."""
    c = stack("database")
    params = {r.inputs.get("name"): r for r in c.resources if r.type == SSM_PARAMETER}
    passwords = [r.outputs["result"] for r in c.resources if r.type == RANDOM_PASSWORD]
    assert len(passwords) == 2, "one generated password per managed database"
    for app in (a for a in c.spec.apps if a.database is not None):
        prefix = stack_ssm_prefix(c.name, app.name)
        for name in ("DATABASE_URL", "PGPASSWORD", "PGHOST", "PGUSER"):
            p = params.get(f"{prefix}/{name}")
            assert p is not None, f"{app.name}: no SecureString {name}"
            assert p.inputs["type"] == "SecureString"
            assert p.inputs["value"].get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270", (
                f"{app.name}.{name} must be secret-marked, or a preview prints it"
            )
        url = params[f"{prefix}/DATABASE_URL"].inputs["value"]["value"]
        # verify-full against the file the VM's bootstrap fetches: a certificate for another
        # host, or from another CA, is refused (issue 17).
        bundle = vm_bundle_path(app)
        assert urlsplit(url).query == f"sslmode=verify-full&sslrootcert={bundle}", url
        assert not NSSM_EXPANDED.search(url), "NSSM would expand a %..% pair on Windows"
        for plain in ("PGSSLMODE", "PGSSLROOTCERT"):  # not secret: the app's plain environment
            assert f"{prefix}/{plain}" not in params, plain
        assert any(pw in url for pw in passwords)
    for r in c.resources:
        if r.type == "aws:rds/instance:Instance":
            assert r.inputs["password"].get(SECRET_SIG), "the RDS password input stays secret"


def test_linux_release_fetches_the_database_variables_by_name() -> None:
    """The Linux release pointer (what the VM activates; the user data carries no app data) names
    DATABASE_URL and PGPASSWORD among the secrets it fetches (names only, never values)."""
    c = stack("database")
    prefix = stack_ssm_prefix(c.name, "django-app")
    pointer = next(
        (
            r
            for r in c.resources
            if r.type == SSM_PARAMETER and r.inputs.get("name") == f"{prefix}/release"
        ),
        None,
    )
    assert pointer is not None, f"no release pointer {prefix}/release"
    secrets = json.loads(pointer.inputs["insecureValue"])["secrets"]
    assert "DATABASE_URL" in secrets and "PGPASSWORD" in secrets, secrets
    assert_clean("release pointer", pointer.inputs["insecureValue"], c)
