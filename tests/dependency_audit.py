"""The dependency audit: pip-audit over this environment, against OSV, minus the allow-list.

    python -m tests.dependency_audit          (make test: informational where OSV is unreachable)
    AUDIT_REQUIRED=1 python -m tests.dependency_audit          (make audit)

When OSV answers, runs `pip-audit -l -s osv --strict --progress-spinner off` with one
`--ignore-vuln ID` per entry of security/audit-allowlist.txt and exits with pip-audit's
status (AUDIT_OSV_URL names another OSV-compatible query endpoint, a mirror, for both the
probe and pip-audit). When it does not (no network, DNS, a proxy, a timeout), nothing is
audited and it says so in one line, "dependency audit NOT RUN: <why>", then exits 0, or 2
when AUDIT_REQUIRED=1, so a run that must audit never passes without auditing.

The allow-list: one advisory id per line, each with a `#` comment saying why it cannot be
fixed yet and when to look again; blank and comment-only lines are ignored.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWLIST = ROOT / "security" / "audit-allowlist.txt"
OSV_QUERY_URL = "https://api.osv.dev/v1/query"
PROBE_TIMEOUT_S = 5.0
NOT_RUN_REQUIRED_EXIT = 2
_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]*")


class AllowListError(ValueError):
    """A line of the allow-list that is not `ID  # reason`."""


def parse_allowlist(text: str, source: str = "allow-list") -> list[str]:
    """The advisory ids to ignore; every id needs a reason after `#`."""
    ids: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry, _, reason = line.partition("#")
        entry = entry.strip()
        if not entry:
            continue
        if not _ID.fullmatch(entry):
            raise AllowListError(f"{source}:{number}: not one advisory id: {entry!r}")
        if not reason.strip():
            raise AllowListError(f"{source}:{number}: {entry} has no reason (`ID  # why`)")
        if entry not in ids:
            ids.append(entry)
    return ids


def read_allowlist(path: Path = ALLOWLIST) -> list[str]:
    if not path.exists():
        return []
    return parse_allowlist(path.read_text(encoding="utf-8"), source=str(path))


def audit_command(
    ignored: Iterable[str], python: str = sys.executable, osv_url: str = OSV_QUERY_URL
) -> list[str]:
    """pip-audit on the environment `python` runs in (only its own packages: -l)."""
    command = [python, "-m", "pip_audit", "-l", "-s", "osv", "--strict"]
    command += ["--progress-spinner", "off"]
    if osv_url != OSV_QUERY_URL:
        command += ["--osv-url", osv_url]
    for vuln_id in ignored:
        command += ["--ignore-vuln", vuln_id]
    return command


def osv_unreachable(url: str = OSV_QUERY_URL, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """None when the OSV API answers (any HTTP status), else why it did not."""
    query = {"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "0"}
    request = urllib.request.Request(
        url,
        data=json.dumps(query).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # it answered: reachable (pip-audit reports what is wrong)
    except urllib.error.URLError as exc:
        return f"{url} unreachable ({exc.reason})"
    except (OSError, ValueError) as exc:  # timeouts, resets, TLS errors
        return f"{url} unreachable ({type(exc).__name__}: {exc})"


def _not_run(why: str, environ: Mapping[str, str]) -> int:
    required = environ.get("AUDIT_REQUIRED") == "1"
    tail = " (AUDIT_REQUIRED=1: failing)" if required else ""
    sys.stderr.write(f"dependency audit NOT RUN: {why}{tail}\n")
    return NOT_RUN_REQUIRED_EXIT if required else 0


def main(
    environ: Mapping[str, str] = os.environ,
    allowlist: Path = ALLOWLIST,
    python: str = sys.executable,
) -> int:
    try:
        ignored = read_allowlist(allowlist)
    except AllowListError as exc:
        sys.stderr.write(f"dependency audit: bad allow-list: {exc}\n")
        return NOT_RUN_REQUIRED_EXIT
    if importlib.util.find_spec("pip_audit") is None:
        return _not_run("pip-audit is not installed (the `test` extra)", environ)
    osv_url = environ.get("AUDIT_OSV_URL") or OSV_QUERY_URL
    why = osv_unreachable(osv_url)
    if why is not None:
        return _not_run(why, environ)
    command = audit_command(ignored, python, osv_url)
    if ignored:
        sys.stderr.write(f"dependency audit: allow-listed: {', '.join(ignored)}\n")
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
