"""The pure trust rules, table-driven: which app routes the ALB can separate, which paths stay
inside their app, how wide admin ranges are, and how Pulumi's config typing reaches the spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.aws.alb import Alb, AlbArgs, AlbRoute
from components.aws.security import SecurityGroups, SecurityGroupsArgs
from components.plan.checks import parse_stack_spec
from components.plan.naming import RouteKey, app_rule_priorities, rule_priorities
from components.plan.routes import Route, route_conflicts
from components.spec.cidrs import (
    admin_cidr_problem,
    admin_list_problem,
    allow_deny_problem,
    public_addresses,
)
from components.spec.paths import check_relative_folder, check_url_path
from components.tooling.config import pulumi_top_level, read_stack_file
from tests.helpers.specs import sample_app, stack_of

A, B = "a.example.com", "b.example.com"
ROUTES = [
    # (apps as (hosts, prefix), the ALB can separate them)
    ([((), "/"), ((), "/api/")], True),  # nested prefix on any host: the API wins its prefix
    ([((A,), "/"), ((A,), "/api/")], True),  # the same on one host
    ([((A,), "/"), ((), "/")], True),  # host-specific app beside a catch-all
    ([((A,), "/"), ((B,), "/")], True),  # disjoint hosts
    ([((), "/a/"), ((), "/b/")], True),  # disjoint prefixes
    ([((A,), "/api/"), ((A, B), "/")], True),  # fewer hosts and a longer prefix
    ([(("x." + A,), "/"), (("*.b.example.com", "www.b.example.com"), "/")], True),
    ([((A,), "/"), ((A, B), "/")], False),  # issue 12: [a] and [a, b]
    ([((), "/"), ((), "/")], False),  # two catch-alls
    ([(("*.example.com",), "/"), ((A,), "/")], False),  # both host-restricted: order by name
    ([((A,), "/"), ((), "/api/")], True),  # the longer prefix wins on A too, by the rule order
    ([(("*.example.com",), "/"), (("*.a.example.com",), "/")], False),
    ([((A,), "/x/"), ((A,), "/x/")], False),
]


def _health_host(hosts: tuple[str, ...]) -> str | None:
    """AppSpec.health_host as components/aws/webstack.py uses it (None: the ALB's DNS name)."""
    if not hosts:
        return None
    return next((h for h in hosts if not h.startswith("*.")), "localhost")


def _routes(apps: list[tuple[tuple[str, ...], str]], names: tuple[str, ...]) -> list[Route]:
    """Routes with the priorities the listener rules really get (derived, components/plan/naming.py)."""
    keys = [RouteKey(n, hosts, prefix) for n, (hosts, prefix) in zip(names, apps, strict=False)]
    prio = rule_priorities(keys)
    return [
        Route(
            k.app,
            k.hostnames,
            k.path_prefix,
            prio[k.app],
            _health_host(k.hostnames),
            k.path_prefix + "healthz",
        )
        for k in keys
    ]


@pytest.mark.parametrize("names", [("app0", "app1"), ("zeta", "alpha")])
@pytest.mark.parametrize(("apps", "separable"), ROUTES)
def test_route_conflicts(
    apps: list[tuple[tuple[str, ...], str]], separable: bool, names: tuple[str, str]
) -> None:
    """The verdict never depends on the apps' names (they only order apps within one band)."""
    problems = route_conflicts(_routes(apps, names))
    assert (not problems) == separable, problems
    if problems:
        assert names[0] in problems[0] and names[1] in problems[0], "both apps are named"


def test_a_health_check_another_app_answers_is_a_conflict() -> None:
    """The site's public health check /api/health would be answered by the API's rule."""
    site = Route("site", (), "/", 20, None, "/api/health")
    api = Route("api", (), "/api/", 10, None, "/api/healthz")
    problems = route_conflicts([site, api])
    assert problems == [problems[0]] and "apps.site.health_path" in problems[0], problems
    assert not route_conflicts([Route("site", (), "/", 20, None, "/healthz"), api])


def test_a_health_check_no_rule_answers_is_a_problem() -> None:
    """Only `*.` wildcards: the probe's Host (localhost) matches no rule, the ALB answers 404."""
    wild = Route("wild", ("*.example.com",), "/", 10, "localhost", "/healthz")
    problems = route_conflicts([wild])
    assert len(problems) == 1 and "matches no listener rule" in problems[0], problems
    assert "apps.wild.hostnames" in problems[0]
    assert not route_conflicts([Route("wild", ("*.example.com",), "/", 10, "www.example.com")])


def test_alb_routes_never_drop_host_names() -> None:
    """Four names would be a 4-value host condition (AWS allows 3); the old code sent the first
    five silently. A consumer building AlbRoute itself gets an error, not a truncated rule."""
    route = AlbRoute(app="a", hostnames=[f"h{i}.example.com" for i in range(4)],
                     path_prefix="/", health_path="/healthz")  # fmt: skip
    args = AlbArgs(vpc_id="vpc-1", public_subnet_ids=[], security_group_id="sg-1",
                   certificate_arn="arn:aws:acm:x", idle_timeout=40, routes=[route])  # fmt: skip
    with pytest.raises(ValueError, match="at most 3"):
        Alb("edge", args)


def test_an_explicit_priority_that_ranks_the_general_app_first_is_a_conflict() -> None:
    """`/api/` inside `/` is fine only while the API's rule comes first."""
    api, site = Route("api", (), "/api/", 20, None, "/api/h"), Route("site", (), "/", 10)
    assert route_conflicts([api, site]), "the site's rule would swallow /api/"
    assert not route_conflicts([Route("api", (), "/api/", 5, None, "/api/h"), site])


@pytest.mark.parametrize(
    ("value", "ok"),
    [("static", True), ("web/static", True), ("a.b/c-d_e", True), ("..", False),
     ("../etc", False), ("a/../../b", False), ("/etc", False), ("./a", False), ("a//b", False),
     ("a/", False), (".hidden", False), ("a\\..\\b", False), ("", False)],
)  # fmt: skip
def test_relative_folders(value: str, ok: bool) -> None:
    if ok:
        assert check_relative_folder(value, "x") == value
    else:
        with pytest.raises(ValueError):
            check_relative_folder(value, "x")


@pytest.mark.parametrize(
    ("value", "slash", "ok"),
    [("/static/", True, True), ("/", True, True), ("/a/b/", True, True), ("/healthz", False, True),
     ("/health/", False, True), ("/-/ready", False, True), ("/../", True, False),
     ("/a/../", True, False), ("//a/", True, False), ("/a//b", False, False), ("/./", True, False),
     ("/%2e%2e/", True, False), ("/a", True, False), ("a/", True, False), ("/a\\b", False, False)],
)  # fmt: skip
def test_url_paths(value: str, slash: bool, ok: bool) -> None:
    if ok:
        assert check_url_path(value, trailing_slash=slash) == value
    else:
        with pytest.raises(ValueError):
            check_url_path(value, trailing_slash=slash)


def test_public_addresses_leave_out_private_ranges() -> None:
    assert public_addresses(["10.0.0.0/8"], 4) == 0
    assert public_addresses(["10.0.0.0/7"], 4) == 2**24  # 11.0.0.0/8
    assert public_addresses(["0.0.0.0/1", "128.0.0.0/1"], 4) > 2**31
    assert public_addresses(["fd00::/8", "2001:db8::/48"], 6) == 2**80


def test_wide_admin_ranges_opt_in_but_never_the_world() -> None:
    assert admin_cidr_problem(["8.0.0.0/8"], allow_wide=False)
    assert admin_cidr_problem(["8.0.0.0/8"], allow_wide=True) is None
    assert admin_cidr_problem(["0.0.0.0/1", "128.0.0.0/1"], allow_wide=True)
    # half of the internet is refused with the opt-in too (IPv4 public space, 2000::/3's half)
    assert "half of the public IPv4" in str(
        admin_cidr_problem(["0.0.0.0/1", "128.0.0.0/2"], allow_wide=True)
    )
    assert "half of 2000::/3" in str(admin_cidr_problem(["2000::/4"], allow_wide=True))
    assert admin_cidr_problem(["2000::/5"], allow_wide=True) is None


def test_admin_ranges_listed_once_after_normalising_and_within_the_group_quota() -> None:
    assert "listed twice" in str(admin_list_problem(["2001:db8::/32", "2001:0db8::/32"]))
    assert admin_list_problem([f"198.51.100.{i}/32" for i in range(58)]) is None
    assert "at most 58" in str(admin_list_problem([f"198.51.100.{i}/32" for i in range(59)]))
    # the cap is per IP version, as AWS counts the 60 inbound rules
    v6 = [f"2001:db8:{i:x}::/48" for i in range(58)]
    assert admin_list_problem([f"198.51.100.{i}/32" for i in range(58)] + v6) is None


def test_allow_inside_deny_is_a_contradiction_but_deny_inside_allow_is_not() -> None:
    assert allow_deny_problem(["10.1.0.0/16"], ["10.0.0.0/8"])
    assert allow_deny_problem(["10.0.0.0/8"], ["10.1.0.0/16"]) is None
    assert allow_deny_problem(["10.0.0.0/8"], ["fd00::/8"]) is None


def test_security_groups_refuse_the_world_without_a_spec() -> None:
    """A consumer building SecurityGroupsArgs itself (examples/consumer) is held too."""
    args = SecurityGroupsArgs(
        vpc_id="vpc-1", edge_mode="alb", apps={"a": "linux"},
        admin_cidrs=["0.0.0.0/1", "128.0.0.0/1"],
    )  # fmt: skip
    with pytest.raises(ValueError, match="whole internet"):
        SecurityGroups("sg", args)
    twice = SecurityGroupsArgs(
        vpc_id="vpc-1", edge_mode="alb", apps={"a": "linux"},
        admin_cidrs=["2001:db8::/48", "2001:0db8::/48"],
    )  # fmt: skip
    with pytest.raises(ValueError, match="listed twice"):
        SecurityGroups("sg", twice)


# -- Pulumi's typing of config values ------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "seen"),
    [("30", 30), ("true", True), ("dev", "dev"), (30, 30), ('["10.0.0.0/8"]', ["10.0.0.0/8"]),
     ({"mode": "alb"}, {"mode": "alb"})],
)  # fmt: skip
def test_top_level_values_as_the_program_reads_them(value: object, seen: object) -> None:
    assert pulumi_top_level(value) == seen


def test_a_stack_written_by_pulumi_config_set_stays_valid(tmp_path: Path) -> None:
    """`pulumi config set webstack:request_timeout 30` writes the string "30"; strict models must
    still accept it (the program reads it back as JSON), while a nested "30" stays a string."""
    stack = tmp_path / "Pulumi.t.yaml"
    stack.write_text(
        "config:\n  webstack:request_timeout: '45'\n  webstack:production: 'false'\n"
        "  webstack:edge: {mode: nginx}\n  webstack:network: {nat: none}\n"
        "  webstack:apps:\n    - {name: a, framework: flask, wsgi: 'app:app'}\n"
    )
    raw, _ = read_stack_file(stack)
    spec = parse_stack_spec(raw)
    assert spec.request_timeout == 45 and spec.production is False


# -- local supervision: systemd's start limit ------------------------------------------------------
class _DyingSite:
    """A site whose master 1 is dead whenever asked: restarts are counted, never succeed."""

    nginx_exit = None

    def __init__(self, restart: str = "always") -> None:
        self.restarts = 0
        self._restart = restart

    def exited_masters(self) -> dict[int, int]:
        return {1: -9}

    def unit(self, n: int):  # type: ignore[no-untyped-def]
        from types import SimpleNamespace

        return SimpleNamespace(name="webstack-a@1.service", restart=self._restart, restart_sec=0.1)

    def restart_master(self, n: int) -> None:
        self.restarts += 1

    def master_pid(self, n: int) -> int:
        return 1000 + self.restarts


def test_supervisor_gives_up_at_systemds_start_limit() -> None:
    from components.tooling.errors import SiteError
    from components.tooling.local.supervise import START_LIMIT_BURST, Supervisor

    site, now, events = _DyingSite(), [0.0], []
    supervisor = Supervisor(site, events.append, clock=lambda: now[0])
    with pytest.raises(SiteError, match="start limit"):
        for _ in range(50):
            now[0] += 0.2
            supervisor.check()
    assert site.restarts == START_LIMIT_BURST


def test_supervisor_respects_restart_no() -> None:
    from components.tooling.errors import SiteError
    from components.tooling.local.supervise import Supervisor

    with pytest.raises(SiteError, match="Restart=no"):
        Supervisor(_DyingSite("no"), lambda m: None).check()


# -- the route check judges the priorities the listener rules really get --------------------------
def test_route_check_uses_the_listener_rule_priorities(tmp_path: Path) -> None:
    """The overlap check reads app_rule_priorities(spec); the ALB's rules must carry exactly those, or
    it would accept pairs the ALB sends to the wrong app."""
    from components.tooling.mocks import build_webstack, run_under_mocks

    apps = [
        sample_app("site", wsgi="app:app"),
        sample_app("shop", wsgi="app:app", hostnames=[A]),
        sample_app("shopapi", wsgi="app:app", hostnames=[A], path_prefix="/api/"),
        sample_app("blog", wsgi="app:app", hostnames=[B]),
        sample_app("blogx", wsgi="app:app", hostnames=[B], path_prefix="/x/"),
    ]
    spec = stack_of(*apps, environment="t")
    mocks, _ = run_under_mocks(build_webstack(spec, {}, Path.cwd(), tmp_path))
    rules = [r for r in mocks.resources if r.type == "aws:lb/listenerRule:ListenerRule"]
    seen = sorted(r.inputs["priority"] for r in rules)
    assert seen == sorted(app_rule_priorities(spec).values()), (seen, app_rule_priorities(spec))
    prio = app_rule_priorities(spec)
    assert prio["shopapi"] < prio["shop"] < prio["site"] and prio["blogx"] < prio["blog"]


def test_the_security_table_in_the_docs_is_the_generators() -> None:
    from bench.security_report import SECURITY

    doc = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()
    assert SECURITY in doc, "docs/reliability.md: paste bench/security_report.py's SECURITY"
