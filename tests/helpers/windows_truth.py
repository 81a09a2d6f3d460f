"""What real Windows-side tools accept, read from their sources (nothing here runs Windows).

Each constant names where it was read. The faithful tests check the rendered files against these,
and feed each check a deliberately bad input to show it can fail.
"""

from __future__ import annotations

import re

# NSSM's settings table: `settings_t settings[]` in settings.cpp, names from the NSSM_REG_* and
# NSSM_NATIVE_* defines in registry.h / settings.h. Read at commit 897c7ad ("Support starting
# processes with a console on Windows 10", the 2.24-101 build) of the NSSM source (mirror
# github.com/kirillkovalenko/nssm). `nssm set` answers "Invalid parameter" (exit 1) to any other.
NSSM_2_24_101_SETTINGS = frozenset(
    [
        "Application",
        "AppParameters",
        "AppDirectory",
        "AppExit",
        "AppEvents",
        "AppAffinity",
        "AppEnvironment",
        "AppEnvironmentExtra",
        "AppNoConsole",
        "AppPriority",
        "AppRestartDelay",
        "AppStdin",
        "AppStdinShareMode",
        "AppStdinCreationDisposition",
        "AppStdinFlagsAndAttributes",
        "AppStdout",
        "AppStdoutShareMode",
        "AppStdoutCreationDisposition",
        "AppStdoutFlagsAndAttributes",
        "AppStdoutCopyAndTruncate",
        "AppStderr",
        "AppStderrShareMode",
        "AppStderrCreationDisposition",
        "AppStderrFlagsAndAttributes",
        "AppStderrCopyAndTruncate",
        "AppStopMethodSkip",
        "AppStopMethodConsole",
        "AppStopMethodWindow",
        "AppStopMethodThreads",
        "AppKillProcessTree",
        "AppThrottle",
        "AppRedirectHook",
        "AppRotateFiles",
        "AppRotateOnline",
        "AppRotateSeconds",
        "AppRotateBytes",
        "AppRotateBytesHigh",
        "AppRotateDelay",
        "AppTimestampLog",
        "DependOnGroup",
        "DependOnService",
        "Description",
        "DisplayName",
        "Environment",
        "ImagePath",
        "ObjectName",
        "Name",
        "Start",
        "Type",
    ]
)
# The same table at commit 220d2b0 ("NSSM 2.24.", the 2.24 release): no AppKillProcessTree,
# AppRotateDelay, *CopyAndTruncate, AppEvents, AppRedirectHook, AppTimestampLog, Environment.
NSSM_2_24_SETTINGS = frozenset(
    [
        "Application",
        "AppParameters",
        "AppDirectory",
        "AppExit",
        "AppAffinity",
        "AppEnvironment",
        "AppEnvironmentExtra",
        "AppNoConsole",
        "AppPriority",
        "AppRestartDelay",
        "AppStdin",
        "AppStdinShareMode",
        "AppStdinCreationDisposition",
        "AppStdinFlagsAndAttributes",
        "AppStdout",
        "AppStdoutShareMode",
        "AppStdoutCreationDisposition",
        "AppStdoutFlagsAndAttributes",
        "AppStderr",
        "AppStderrShareMode",
        "AppStderrCreationDisposition",
        "AppStderrFlagsAndAttributes",
        "AppStopMethodSkip",
        "AppStopMethodConsole",
        "AppStopMethodWindow",
        "AppStopMethodThreads",
        "AppThrottle",
        "AppRotateFiles",
        "AppRotateOnline",
        "AppRotateSeconds",
        "AppRotateBytes",
        "AppRotateBytesHigh",
        "DependOnGroup",
        "DependOnService",
        "Description",
        "DisplayName",
        "ImagePath",
        "ObjectName",
        "Name",
        "Start",
        "Type",
    ]
)
# 897c7ad is build 101 after 2.24: "On Windows 10 Creators Update an application inheriting a
# console would fail to start with error STATUS_DLL_INIT_FAILED" (its commit message). Builds
# before it cannot start Python, Nginx or Caddy on Server 2016+.
NSSM_FIRST_GOOD_BUILD = (2, 24, 101)
_NSSM_ZIP = re.compile(r"nssm-(\d+)\.(\d+)(?:-(\d+)-g[0-9a-f]+)?\.zip$")


def nssm_build(file_name: str) -> tuple[int, int, int] | None:
    """(2, 24, 101) from `nssm-2.24-101-g897c7ad.zip`, (2, 24, 0) from `nssm-2.24.zip`."""
    m = _NSSM_ZIP.search(file_name)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def nssm_starts_services_on_server_2016(file_name: str) -> bool:
    build = nssm_build(file_name)
    return build is not None and build >= NSSM_FIRST_GOOD_BUILD


# ARR's webFarm loadBalancing algorithms (Microsoft Learn, "Load Balance Page" of Application
# Request Routing: weighted round robin, weighted total traffic, least current request, least
# response time, server variable / query string hash; the schema values below).
ARR_ALGORITHMS = frozenset(
    {
        "WeightedRoundRobin",
        "WeightedTotalTraffic",
        "LeastRequests",
        "LeastResponseTime",
        "RequestHash",
    }
)

# CPython on Windows: Modules/selectmodule.c `#if defined(MS_WINDOWS) && !defined(FD_SETSIZE)
# #define FD_SETSIZE 512`, so
# select.select() refuses more than 512 sockets per set. Waitress (wasyncore) selects over every
# channel, the listening socket and its trigger (a socket pair on Windows).
WINDOWS_FD_SETSIZE = 512
WAITRESS_EXTRA_SOCKETS = 1 + 2


def waitress_select_sockets(connection_limit: int) -> int:
    return connection_limit + WAITRESS_EXTRA_SOCKETS


# AWS Tools for PowerShell cmdlets that call a cloud API (S3, SSM, EC2, ...): Verb-ServiceNoun.
AWS_CMDLET = re.compile(r"^[A-Z][a-z]+-(S3|SSM|EC2|KMS|STS|SM|ASG|ELB2|IAM)[A-Z][A-Za-z]*$")
# Programs the scripts run; a bare call (without Invoke-Native) ignores their exit code.
NATIVE_PROGRAMS = frozenset(
    {"nssm", "icacls", "sc", "tar", "msiexec", "appcmd", "iisreset", "python", "nginx", "caddy"}
)


# AWS EC2 User Guide, "Use the EC2Launch v2 agent" (ec2launch-v2.html): Windows Server 2022 and
# 2025 AMIs include EC2Launch v2; 2016 and 2019 have it only in the `EC2LaunchV2-Windows_Server-*`
# AMIs (the plain ones ship EC2Launch v1, which never runs EC2Launch v2 YAML user data).
def ships_ec2launch_v2(ami_name: str) -> bool:
    return ami_name.startswith("EC2LaunchV2-") or bool(
        re.match(r"Windows_Server-(2022|2025)-", ami_name)
    )
