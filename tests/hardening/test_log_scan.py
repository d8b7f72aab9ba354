"""The log scan (tests/log_scan.py) and how tests/e2e_server.py applies it to gunicorn's logs."""

from __future__ import annotations

import io

import pytest

from server.config import SANDBOX_APPID, SANDBOX_SECRET
from server.wechat.sandbox import SandboxServer
from tests import e2e_server
from tests.log_scan import describe, find_leaks, redact

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI3In0.c2lnbmF0dXJl"
SECRETS = {"SECRET_KEY": "e2e-secret-key-kkkk", "WECHAT_SECRET": "sandbox-secret"}


@pytest.mark.parametrize(
    ("line", "what", "hidden"),
    [
        (f'127.0.0.1 "GET /api/v1/me?t={JWT} HTTP/1.1" 200', "token", JWT),
        ("INFO login session_key=q0Zx9+AbCdEfGh1jKlMnOp== ok", "session_key", "q0Zx9+"),
        ("INFO got {'openid': 'o_1', 'session_key': 'abc'}", "session_key", "abc'"),
        ("INFO 报修 联系电话 13912345678 楼道", "phone", "13912345678"),
        ("INFO phone=15800001111&x=1", "phone", "15800001111"),
        ("GET /cgi-bin/token?grant_type=x&secret=abc123 200", "secret in a URL", "abc123"),
        ("GET /wxa/msg?access_token=tok_987xyz 200", "secret in a URL", "tok_987xyz"),
        ("config SECRET_KEY is e2e-secret-key-kkkk", "SECRET_KEY", "e2e-secret-key-kkkk"),
        ("appsecret in a body: sandbox-secret", "WECHAT_SECRET", "sandbox-secret"),
    ],
)
def test_each_kind_of_leak_is_found_and_redacted(line, what, hidden):
    leaks = find_leaks("first line\n" + line + "\n", SECRETS)
    assert what in {leak.what for leak in leaks}
    assert {leak.line_no for leak in leaks} == {2}
    for leak in leaks:
        assert hidden not in leak.line
    assert hidden not in describe(leaks) and "line 2 (" in describe(leaks)


@pytest.mark.parametrize(
    "line",
    [
        "INFO phone bound: 138****5678",
        'GET /x HTTP/1.1" 200 rid=da910c13812345678c0571a6c2f5c12b ua="node"',
        "INFO order 138123456789 (12 digits) and 1381234567 (10)",
        "GET /wxa/msg?access_token=*** 200 session_key=***",
        "INFO fetching a WeChat access token (appid wxsandbox0000000001)",
        "[2026-11-22 01:32:01 +0000] [7861] [INFO] Booting worker with pid: 7862",
    ],
)
def test_ordinary_lines_are_clean(line):
    assert find_leaks(line, SECRETS) == []


def test_redact_prefers_the_longest_secret_and_ignores_empty_ones():
    secrets = {"SHORT": "abc", "LONG": "abcdef", "EMPTY": ""}
    assert redact("x abcdef y abc", secrets) == "x <LONG> y <SHORT>"
    assert find_leaks("nothing here", {"EMPTY": ""}) == []


def test_check_logs_reports_redacted_lines():
    out = io.StringIO()
    assert e2e_server.check_logs("ok\nfine\n", SECRETS, out)
    assert "clean (2 server log lines)" in out.getvalue()
    out = io.StringIO()
    logs = f"ok\nGET /me?t={JWT}&p=13812345678 SECRET e2e-secret-key-kkkk\n"
    assert not e2e_server.check_logs(logs, SECRETS, out)
    report = out.getvalue()
    assert "1 server log line(s) leak" in report and "line 2 (SECRET_KEY, token, phone)" in report
    assert JWT not in report and "13812345678" not in report and "kkkk" not in report


def test_tee_shows_and_keeps_every_line():
    kept: list[str] = []
    shown = io.StringIO()
    e2e_server.tee(io.StringIO("a\nb\nno newline"), shown, kept).join(timeout=5)
    assert kept == ["a\n", "b\n", "no newline"]
    assert shown.getvalue() == "a\nb\nno newline"


def test_the_secrets_scanned_for(tmp_path):
    env = e2e_server.server_env(tmp_path, "http://127.0.0.1:1/", str(tmp_path / "r.sock"))
    secrets = e2e_server.server_secrets(tmp_path, env)
    assert secrets["SECRET_KEY"] == env["SECRET_KEY"]
    assert secrets["PHONE_ENCRYPTION_KEY"] == env["PHONE_ENCRYPTION_KEY"]
    assert secrets["WECHAT_SECRET"] == SANDBOX_SECRET and secrets["WECHAT_TOKEN"]
    with SandboxServer(appid=SANDBOX_APPID, secret=SANDBOX_SECRET) as sandbox:
        issued = e2e_server.record_sandbox_secrets(sandbox)
        token = sandbox.state.issue_basic_token().value
        stable = sandbox.state.issue_stable_token(force_refresh=False).value
        session_key = sandbox.state.login("o_scan")["session_key"]
        sandbox.control.reset()  # the e2e client may reset the sandbox: still recorded
        again = sandbox.state.login("o_scan")["session_key"]
    assert sorted(issued.values()) == sorted([token, stable, session_key, again])
