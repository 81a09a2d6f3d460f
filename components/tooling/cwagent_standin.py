#!/usr/bin/python3
"""STAND-IN for the CloudWatch agent: boot rehearsal only, never on a VM.

The rehearsal has no AWS account to ship logs to and cannot fetch the agent package offline, so
the bootstrap runs this instead (WEBSTACK_CWAGENT_STANDIN, set only by the rehearsal's
cloud-final drop-in). It reads the same config the real agent would (`-c file:<path>`), refuses
one without its sections, and records what the agent would collect; the rehearsal then checks
from the host that every file named exists and receives lines while it sends requests, and that
every journald unit named has entries. Standard library only: it runs under the guest's python3.
"""

import json
import pathlib
import sys

REPORT = pathlib.Path("/var/lib/webstack-cwagent-standin/report.json")


def main(path: str) -> int:
    config = json.loads(pathlib.Path(path).read_text())
    missing = [k for k in ("agent", "metrics", "logs") if k not in config]
    if missing:
        print(f"webstack: cloudwatch agent STAND-IN: {path} lacks {missing}", file=sys.stderr)
        return 1
    collected = config["logs"]["logs_collected"]
    files = [f["file_path"] for f in collected.get("files", {}).get("collect_list", [])]
    journald = collected.get("journald", {}).get("collect_list", [])
    units = [u for item in journald for u in item["units"]]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    report = {"stand_in": True, "config": path, "files": files, "journald_units": units}
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"webstack: cloudwatch agent STAND-IN (rehearsal) read {path}: {len(files)} files, "
        f"{len(units)} journald units, namespace {config['metrics'].get('namespace')}; "
        "nothing is shipped"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
