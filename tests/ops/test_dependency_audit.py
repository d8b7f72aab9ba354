"""tests/dependency_audit.py: the allow-list, the pip-audit command line, and what happens when
OSV is or is not reachable (the probe and pip-audit are replaced; no network), plus one real
pip-audit run against a local stand-in for the OSV API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests import dependency_audit as audit

PY = "/venv/bin/python"
BASE = [PY, "-m", "pip_audit", "-l", "-s", "osv", "--strict", "--progress-spinner", "off"]


# --- the allow-list --------------------------------------------------------------------------


def test_allowlist_ids_with_reasons_blank_and_comment_lines_ignored():
    text = (
        "# header\n"
        "\n"
        "GHSA-abcd-efgh-ijkl  # pkg: no fix yet, API unused; review 2027-01-31\n"
        "   PYSEC-2024-12 # reason\n"
        "GHSA-abcd-efgh-ijkl  # listed twice\n"
        "   # indented comment\n"
    )
    assert audit.parse_allowlist(text) == ["GHSA-abcd-efgh-ijkl", "PYSEC-2024-12"]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("GHSA-abcd-efgh-ijkl", "no reason"),
        ("GHSA-abcd-efgh-ijkl   #   ", "no reason"),
        ("GHSA-1 PYSEC-2 # two on one line", "not one advisory id"),
        ("--strict # an option smuggled in", "not one advisory id"),
        ("nonsense # x", "not one advisory id"),
    ],
)
def test_allowlist_refuses_lines_without_one_id_and_a_reason(line, why):
    with pytest.raises(audit.AllowListError, match=why) as raised:
        audit.parse_allowlist("# ok\n" + line + "\n", source="list.txt")
    assert "list.txt:2" in str(raised.value)


def test_the_shipped_allowlist_parses():
    assert audit.ALLOWLIST.exists()
    assert isinstance(audit.read_allowlist(), list)


def test_a_missing_allowlist_is_empty(tmp_path):
    assert audit.read_allowlist(tmp_path / "none.txt") == []


# --- the command line -------------------------------------------------------------------------


def test_command_line():
    assert audit.audit_command([], PY) == BASE
    ignored = audit.audit_command(["GHSA-a-b", "PYSEC-1"], PY)
    assert ignored == [*BASE, "--ignore-vuln", "GHSA-a-b", "--ignore-vuln", "PYSEC-1"]
    mirror = audit.audit_command([], PY, "https://osv.example/v1/query")
    assert mirror == [*BASE, "--osv-url", "https://osv.example/v1/query"]


# --- the reachability probe ------------------------------------------------------------------


class _Answer:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _urlopen(outcome, seen=None):
    def fake(request, timeout):
        if seen is not None:
            seen.append((request, timeout))
        if isinstance(outcome, BaseException):
            raise outcome
        return _Answer()

    return fake


def test_probe_answers_none_when_osv_answers(monkeypatch):
    seen = []
    monkeypatch.setattr(audit.urllib.request, "urlopen", _urlopen(None, seen))
    assert audit.osv_unreachable() is None
    request, timeout = seen[0]
    assert request.full_url == "https://api.osv.dev/v1/query"
    assert request.get_method() == "POST" and timeout == audit.PROBE_TIMEOUT_S <= 5


def test_probe_counts_an_http_error_as_reachable(monkeypatch):
    error = urllib.error.HTTPError(audit.OSV_QUERY_URL, 400, "Bad Request", {}, None)
    monkeypatch.setattr(audit.urllib.request, "urlopen", _urlopen(error))
    assert audit.osv_unreachable() is None


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (urllib.error.URLError(socket.gaierror(-2, "Name or service not known")), "Name or"),
        (TimeoutError("timed out"), "TimeoutError"),
        (ConnectionResetError(104, "reset"), "ConnectionResetError"),
    ],
    ids=["dns", "timeout", "reset"],
)
def test_probe_says_why_osv_is_unreachable(monkeypatch, error, text):
    monkeypatch.setattr(audit.urllib.request, "urlopen", _urlopen(error))
    why = audit.osv_unreachable()
    assert why is not None and "api.osv.dev" in why and text in why


# --- main: reachable or not, required or not ---------------------------------------------


@pytest.fixture
def runs(monkeypatch):
    """pip-audit replaced: records its command lines, answers with `runs.status`."""

    class Runs(list):
        status = 0

    calls = Runs()

    def fake_run(command, check):
        calls.append(command)
        return subprocess.CompletedProcess(command, calls.status)

    monkeypatch.setattr(audit.subprocess, "run", fake_run)
    return calls


@pytest.fixture
def allowlist(tmp_path):
    path = tmp_path / "allow.txt"
    path.write_text("GHSA-aaaa-bbbb-cccc  # no fix yet; review 2027-01-31\n")
    return path


@pytest.mark.parametrize(("required", "status"), [("", 0), ("0", 0), ("1", 2)])
def test_unreachable_is_not_run_loudly(monkeypatch, capsys, runs, allowlist, required, status):
    monkeypatch.setattr(audit, "osv_unreachable", lambda url: f"{url} unreachable (DNS)")
    environ = {"AUDIT_REQUIRED": required} if required else {}
    assert audit.main(environ, allowlist, PY) == status
    assert runs == []
    err = capsys.readouterr().err
    assert err.startswith("dependency audit NOT RUN: https://api.osv.dev/v1/query unreachable")
    assert err.count("\n") == 1


@pytest.mark.parametrize("status", [0, 1])
def test_reachable_runs_pip_audit_and_exits_with_its_status(monkeypatch, runs, allowlist, status):
    monkeypatch.setattr(audit, "osv_unreachable", lambda url: None)
    runs.status = status
    assert audit.main({"AUDIT_REQUIRED": "1"}, allowlist, PY) == status
    assert runs == [[*BASE, "--ignore-vuln", "GHSA-aaaa-bbbb-cccc"]]


def test_the_mirror_is_probed_and_audited(monkeypatch, runs, allowlist):
    probed = []
    monkeypatch.setattr(audit, "osv_unreachable", lambda url: probed.append(url))
    assert audit.main({"AUDIT_OSV_URL": "http://mirror/v1/query"}, allowlist, PY) == 0
    assert probed == ["http://mirror/v1/query"]
    assert runs[0][len(BASE) : len(BASE) + 2] == ["--osv-url", "http://mirror/v1/query"]


def test_a_bad_allowlist_fails_before_anything_runs(monkeypatch, capsys, runs, tmp_path):
    probed = []
    monkeypatch.setattr(audit, "osv_unreachable", lambda url: probed.append(url))
    path = tmp_path / "allow.txt"
    path.write_text("GHSA-aaaa-bbbb-cccc\n")
    assert audit.main({}, path, PY) == 2
    assert probed == [] and runs == []
    assert "no reason" in capsys.readouterr().err


def test_without_pip_audit_installed_it_is_not_run(monkeypatch, capsys, runs, allowlist):
    monkeypatch.setattr(audit.importlib.util, "find_spec", lambda name: None)
    assert audit.main({"AUDIT_REQUIRED": "1"}, allowlist, PY) == 2
    assert runs == []
    assert "NOT RUN: pip-audit is not installed" in capsys.readouterr().err


# --- one real pip-audit run against a local OSV stand-in ------------------------------------


class _FakeOsv(BaseHTTPRequestHandler):
    """Answers OSV's /v1/query: one advisory for pyjwt, nothing for everything else."""

    def do_POST(self):
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        vulns = []
        if query.get("package", {}).get("name") == "pyjwt":
            vulns = [
                {
                    "id": "GHSA-test-fake-0001",
                    "summary": "a made-up advisory",
                    "affected": [{"package": {"name": "pyjwt", "ecosystem": "PyPI"}}],
                }
            ]
        body = json.dumps({"vulns": vulns} if vulns else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_real_pip_audit_against_a_local_osv(tmp_path, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeOsv)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    try:
        found = subprocess.run(
            audit.audit_command([], sys.executable, url), capture_output=True, text=True
        )
        assert found.returncode == 1, found.stderr
        assert "GHSA-test-fake-0001" in found.stdout
        allowed = audit.audit_command(["GHSA-test-fake-0001"], sys.executable, url)
        clean = subprocess.run(allowed, capture_output=True, text=True)
        assert clean.returncode == 0, clean.stdout + clean.stderr
    finally:
        server.shutdown()
        server.server_close()
