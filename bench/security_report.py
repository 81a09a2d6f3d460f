"""The security table of docs/reliability.md (issue 12): what was tried, with which tool, result.

Static text: each row names the test that repeats it on every `make test`, so the table stays
true as long as those tests pass (bench/reliability.py writes it into the report).
"""

SECURITY = """\
## Security: what was tried, with which tool

Each row is repeated by the test it names (`make test`); servers run the rendered files on
127.0.0.1. Playing the parts: 127.0.0.2 the ALB node, 127.0.0.1 the VM itself, 127.0.0.3-5 clients.

| What was tried | Tool | Result |
|---|---|---|
| 91 broken stack files: wrong types (`true`/`"30"`/`1.5` for numbers, numbers for strings), `..`/absolute/empty/hidden segments in `static.folder`, `static.url`, `source.path`, `health_path`, `path_prefix`, %-encoding, CIDRs, overlapping routes, names, YAML shapes (a list, a scalar, `config:` as a list), contradictions, nonsense sizes | `webstack check` as a user runs it (tests/cli/test_cli_broken_configs.py) | every one exit 1 with one line naming the setting and what is allowed; no traceback, no exit 70 |
| Traversal against the running rendered Nginx over random valid configs: `/static/../`, `%2e%2e/`, `%252e%252e/`, `..%2f`, `..%252f`, backslashes, overlong UTF-8, the `alias` off-by-slash, 4 depths, targets app.env, the TLS key, the Gunicorn config, the code | Hypothesis + real Nginx (tests/fuzz/test_fuzz_trust.py; secret markers planted in every file) | nothing outside the app's static folder served; the probe reports the leak when `static.folder: ..` is forced past validation |
| A denied client on every location: health path, static file, app, unknown path, the Nginx edge's HTTP redirect | same property test; tests/e2e/test_linux_trust.py | 403 everywhere. **Found**: the edge's port-80 `return 301` ran in the rewrite phase, before allow/deny; it now redirects through `try_files` after them |
| A denied client through the ALB (its address in X-Forwarded-For); a forged X-Forwarded-For sent straight to Nginx | tests/e2e/test_linux_trust.py | 403; the forged header is not believed |
| HSTS behind the ALB | tests/e2e/test_linux_trust.py | `max-age=63072000` on every path when the trusted ALB says `https`; never for `http` or when a client claims `https` |
| Spoofed X-Forwarded-For / X-Real-IP / X-Forwarded-Proto / X-Forwarded-Host / Forwarded; `HTTPS`, `Https`, `https, http` from the ALB | tests/e2e/test_linux_trust.py, tests/e2e/test_linux_e2e.py | the app sees the real peer and `http` (Linux Nginx) |
| Health path flooded by a client, and by the ALB node / loopback | tests/e2e/test_linux_trust.py | 429 for the client (rate limit on health and static files too); the trusted peer never limited, and passes a deny list that covers it |
| One client with more requests in progress than `max_connections_per_ip` | tests/e2e/test_linux_trust.py | the extra request 429 at once, another client served, the slot frees when requests end |
| TLS of the dev stack's Nginx edge against Mozilla intermediate (sslyze's checker and bundled profile, plus its disabled HSTS check) | sslyze 6.3.1 (tests/security/test_tls_sslyze.py) | compliant except the trust of the self-signed dev certificate. **Found**: X448 and secp521r1 accepted; now `ssl_ecdh_curve X25519:prime256v1:secp384r1` (the test reloads the old curves and sees sslyze fail) |
| `admin_cidrs: [0.0.0.0/1, 128.0.0.0/1]`, 300 small /24s, a /8, an IPv6 /32 | `webstack check`; policy pack `sg-admin-ranges-bounded` (tests/policy) | refused by both (the union is judged; at most a public /16 or IPv6 /48 without the loud opt-in); a test proves both agree on a table |
| Apps that can match one request: `[a]` and `[a, b]`, two catch-alls, `*.x` beside `a.x` on one prefix, an explicit `priority` that ranks a catch-all before a longer prefix, a health path another app's rule would answer | `webstack check`, tests/unit/test_trust_rules.py (each case also with the app names swapped) | refused naming both apps; a longer prefix, or host names beside a catch-all, is accepted when its listener rule really comes first (the priorities the ALB gets) |
| `kill -9` of a Gunicorn master under `webstack up --local --serve` | tests/cli/test_cli_up_local.py, tests/e2e/test_linux_trust.py | restarted after RestartSec (2 s) and reported, as systemd's `Restart=always`; past systemd's start limit, or when Nginx dies, the command reports it and exits 3 |
| The rendered nginx.conf of dev, prod and an ALB stack with allow/deny lists | gixy-ng 0.2.59 (tests/render/test_gixy.py) | no finding, one check skipped with its reason (`try_files` of the edge's redirect, there to run allow/deny and limits first); the test shows gixy reports the `alias` off-by-slash |
| While building the above: a whitespace slip in the template commented out nginx.conf's `user` line | `nginx -t` passed; the property test's real requests got 502 | caught before commit: only a running site shows it |

Earlier (issue 12's report, unchanged by this work): 44 request-smuggling cases stopped by Nginx,
1000 slow connections with 100 % of normal requests served (table above), worker kills and HUP
with no lost request.
"""
