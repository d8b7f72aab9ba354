"""`fengchao doctor`: one line per check, exit 0 when all pass, 1 with FAIL lines otherwise."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from flask_migrate import upgrade

from server.ops.cli import doctor
from tests.ops.helpers import restore_limiter, session_env


@pytest.fixture
def run_doctor(app, monkeypatch):
    def _run(env: dict[str, str], *args: str):
        for name in ("DATABASE_URL", "REDIS_URL", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        result = CliRunner().invoke(doctor, list(args), env=env, catch_exceptions=False)
        restore_limiter(app)
        return result

    return _run


def _lines(output: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in output.splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 2 and parts[0] in ("OK", "WARN", "FAIL", "SKIP"):
            found.setdefault(parts[1], []).append(line)
    return found


def test_doctor_passes_on_a_good_installation(app, run_doctor, sandbox, tmp_path):
    result = run_doctor(session_env(app, tmp_path))
    assert result.exit_code == 0, result.output
    lines = _lines(result.output)
    for name in ("configuration", "database", "redis", "migrations", "wechat"):
        assert lines[name][0].startswith("OK"), result.output
    assert "token fetched" in lines["wechat"][0]
    assert sandbox.calls(path="/cgi-bin/stable_token")  # it really asked "WeChat"
    assert "replica" not in lines  # none configured, nothing to say
    assert result.output.rstrip().endswith("All checks passed.")


def test_doctor_fails_on_an_unreachable_replica(app, run_doctor, tmp_path):
    dead = (
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing"
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
        else f"sqlite:///{tmp_path / 'no-such-folder' / 'replica.db'}"
    )
    env = {**session_env(app, tmp_path), "DATABASE_REPLICA_URL": dead}
    result = run_doctor(env, "--skip-wechat")
    assert result.exit_code == 1, result.output
    lines = _lines(result.output)
    assert lines["replica"][0].startswith("FAIL"), result.output
    assert "read the primary meanwhile" in lines["replica"][0]
    for name in ("database", "redis", "migrations"):
        assert lines[name][0].startswith("OK"), result.output


def test_doctor_fails_with_one_line_per_production_problem(app, run_doctor, tmp_path):
    env = session_env(app, tmp_path)
    env.update(
        FENGCHAO_ENV="production",
        SECRET_KEY="short",
        WECHAT_APPID="",
        WECHAT_SECRET="",
        WECHAT_TOKEN="",
        ALLOW_SANDBOX_IN_PRODUCTION="1",
        ALLOW_SQLITE_IN_PRODUCTION="1",
    )
    result = run_doctor(env)
    assert result.exit_code == 1
    config_lines = _lines(result.output)["configuration"]
    assert config_lines == [
        "FAIL configuration  SECRET_KEY is the default or shorter than 32 characters",
        "FAIL configuration  WECHAT_APPID is not set",
        "FAIL configuration  WECHAT_SECRET is not set",
        "FAIL configuration  WECHAT_TOKEN is not set",
    ]
    lines = _lines(result.output)
    # connectivity is still reported with the same settings
    assert lines["database"][0].startswith("OK")
    assert lines["redis"][0].startswith("OK")
    assert lines["wechat"][0].startswith("SKIP")
    assert "4 check(s) failed." in result.output


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("FENGCHAO_ENV", "prod", "FENGCHAO_ENV must be one of development, test, production"),
        ("POSTS_MAX_PER_RIDER", "two", "POSTS_MAX_PER_RIDER must be a whole number, got 'two'"),
        ("TRUSTED_PROXIES", "yes", "TRUSTED_PROXIES must be a whole number, got 'yes'"),
        (
            "DATABASE_URL",
            "postgres://fengchao:pw@127.0.0.1:1/fengchao",  # Heroku's spelling
            "DATABASE_URL names a database SQLAlchemy does not know (postgres) "
            "(e.g. postgresql+psycopg://user:password@host/db)",
        ),
        (
            "DATABASE_URL",
            "mysql://fengchao:pw@127.0.0.1:1/fengchao",
            "DATABASE_URL needs a driver that is not installed (mysql: MySQLdb) "
            "(e.g. postgresql+psycopg://user:password@host/db)",
        ),
        (
            "DATABASE_REPLICA_URL",
            "postgres://fengchao:pw@127.0.0.1:1/fengchao",
            "DATABASE_REPLICA_URL names a database SQLAlchemy does not know (postgres) "
            "(e.g. postgresql+psycopg://user:password@host/db)",
        ),
        (
            "REDIS_URL",
            "127.0.0.1:6379",
            "REDIS_URL is not a Redis URL (redis://[:password@]host:6379/0, rediss://…, "
            "unix:///path, or redis+sentinel://…)",
        ),
        (  # .env.example's line uncommented as it once was: the limit was off, doctor OK
            "RATE_LIMIT_PHONE",
            "5/minute;20/day            (per user; WeChat bills each phone lookup)",
            "RATE_LIMIT_PHONE is not a rate limit (e.g. 10/minute or 5/minute;20/day, nothing "
            "else on the line), got '5/minute;20/day            (per user; WeChat bills each "
            "phone lookup)'",
        ),
    ],
)
def test_doctor_reports_an_unreadable_setting_as_a_fail_line(
    app, run_doctor, tmp_path, setting, value, says
):
    """The mistakes an operator makes at 3 a.m. (a typo, a word for a number) are FAIL
    lines, not a traceback."""
    env = session_env(app, tmp_path)
    env[setting] = value
    result = run_doctor(env)
    assert result.exit_code == 1
    assert _lines(result.output)["configuration"] == [f"FAIL configuration  {says}"]
    assert "Traceback" not in result.output
    assert "fix the configuration and run again" in result.output


def test_doctor_refuses_the_sandbox_and_sqlite_in_production(app, run_doctor, tmp_path):
    env = session_env(app, tmp_path)
    env.update(FENGCHAO_ENV="production", WECHAT_APPID="wx1", WECHAT_SECRET="s", WECHAT_TOKEN="t")
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/prod.db"
    result = run_doctor(env)
    assert result.exit_code == 1
    text = "\n".join(_lines(result.output)["configuration"])
    assert "WECHAT_API_BASE_URL is not WeChat's own" in text
    assert "DATABASE_URL is SQLite" in text


def test_doctor_fails_when_redis_is_down_and_migrations_behind(app, run_doctor, tmp_path):
    env = session_env(app, tmp_path)
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/never-migrated.db"
    result = run_doctor(env, "--skip-wechat")
    assert result.exit_code == 1
    lines = _lines(result.output)
    assert lines["configuration"][0].startswith("OK")
    assert lines["database"][0].startswith("OK")
    assert lines["redis"][0].startswith("FAIL") and "ConnectionError" in lines["redis"][0]
    assert lines["migrations"][0].startswith("FAIL")
    assert "fengchao db upgrade heads" in lines["migrations"][0]
    assert lines["wechat"][0].startswith("SKIP")


def test_doctor_fails_when_wechat_refuses_the_credentials(app, run_doctor, sandbox, tmp_path):
    env = session_env(app, tmp_path)
    sandbox.fault("/cgi-bin/stable_token", errcode=40125)  # invalid appsecret
    result = run_doctor(env)
    assert result.exit_code == 1
    wechat = _lines(result.output)["wechat"][0]
    assert wechat.startswith("FAIL") and "40125" in wechat


def test_production_start_refusal_lists_each_problem(app, tmp_path):
    from server import create_app
    from server.config import ConfigError

    env = session_env(app, tmp_path)
    env.update(FENGCHAO_ENV="production", SECRET_KEY="", WECHAT_API_BASE_URL="http://127.0.0.1:9/")
    env["REDIS_URL"] = ""
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/prod.db"
    with pytest.raises(ConfigError) as refused:
        create_app({"ENV": env})
    text = str(refused.value)
    for expected in (
        "SECRET_KEY is the default or shorter than 32 characters",
        "WECHAT_APPID is not set",
        "WECHAT_API_BASE_URL is not WeChat's own",
        "DATABASE_URL is SQLite",
        "REDIS_URL is not set",
    ):
        assert expected in text
    assert len(refused.value.problems) == len(text.splitlines()) - 1  # one line per problem


@pytest.mark.parametrize(
    ("public_base_url", "refused"),
    [
        ("", True),
        ("http://127.0.0.1:5000", True),
        ("https://localhost", True),
        ("fengchao.example.gov.cn", True),  # no scheme: not a URL WeChat can fetch
        ("https://[::]", True),
        ("https://[::ffff:127.0.0.1]", True),
        ("https://192.168.1.20", True),  # a private network WeChat cannot reach
        ("https://app.localhost", True),
        ("https://fengchao.example.gov.cn ", True),  # joined into links as it is
        ("https://fengchao.example.gov.cn", False),
        ("HTTPS://127.fengchao.example.gov.cn", False),  # a name, not an address
        ("https://8.8.8.8", False),  # a public address
    ],
)
def test_production_with_real_wechat_needs_the_public_address(
    app, tmp_path, public_base_url, refused
):
    """WeChat fetches uploaded photos from PUBLIC_BASE_URL for its content check: its
    127.0.0.1 default would fail every check in production."""
    from server.config import check_production, load_settings

    env = session_env(app, tmp_path)
    env.update(
        FENGCHAO_ENV="production",
        WECHAT_API_BASE_URL="https://api.weixin.qq.com/",
        PUBLIC_BASE_URL=public_base_url,
    )
    problems = check_production(load_settings(str(tmp_path), env))
    assert any(p.startswith("PUBLIC_BASE_URL") for p in problems) is refused


def test_migrated_throwaway_database_passes_doctor_migrations(app, run_doctor, tmp_path):
    from tests.ops.helpers import other_app

    env = session_env(app, tmp_path)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/fresh.db"
    with other_app(app, env) as fresh, fresh.app_context():
        upgrade(revision="heads")
    result = run_doctor(env, "--skip-wechat")
    assert result.exit_code == 0, result.output
    assert _lines(result.output)["migrations"][0].startswith("OK   migrations     at head")


def test_a_failed_check_keeps_the_drivers_hint_and_drops_sqlalchemys_link():
    from sqlalchemy.exc import OperationalError

    from server.ops.checks import _failure

    refused = OperationalError(
        "SELECT 1",
        None,
        Exception(
            'connection failed: connection to server at "127.0.0.1", port 1 failed: '
            "Connection refused\n\tIs the server running on that host and accepting "
            "TCP/IP connections?"
        ),
    )
    detail = _failure("database", refused).detail
    assert "Connection refused" in detail and "Is the server running on that host" in detail
    assert "sqlalche.me" not in detail and "[SQL" not in detail


def test_wechat_unreachable_reads_as_such_not_errcode_none():
    from server.wechat.errors import WeChatError, WeChatUnavailable

    assert str(WeChatUnavailable(None, "ConnectionError", path="/cgi-bin/stable_token")) == (
        "/cgi-bin/stable_token: ConnectionError"
    )
    assert str(WeChatUnavailable(None, path="/x")) == "/x: no answer from WeChat"
    assert str(WeChatError(40125, "invalid appsecret")) == "WeChat errcode 40125: invalid appsecret"


def _production(app, tmp_path) -> dict[str, str]:
    """A production environment doctor accepts (the sandbox and SQLite allowed)."""
    env = session_env(app, tmp_path)
    env.update(
        FENGCHAO_ENV="production",
        WECHAT_APPID="wx1",
        WECHAT_SECRET="s",
        WECHAT_TOKEN="t",
        ALLOW_SANDBOX_IN_PRODUCTION="1",
        ALLOW_SQLITE_IN_PRODUCTION="1",
    )
    return env


def test_doctor_warns_about_kinds_without_a_template_in_production(
    app, run_doctor, tmp_path, monkeypatch
):
    """No template configured: every notification stayed in-app ("no template configured for
    this kind") while doctor said all passed. A warning: the inbox still works."""
    from server.notifications.config import DEMO_TEMPLATES

    for name in list(os.environ):
        if name.startswith("WECHAT_TEMPLATE"):
            monkeypatch.delenv(name)
    env = _production(app, tmp_path)
    result = run_doctor(env, "--skip-wechat")
    assert result.exit_code == 0, result.output
    (line,) = _lines(result.output)["templates"]
    assert line.startswith("WARN templates      no WeChat template for "), line
    for kind in DEMO_TEMPLATES:
        assert kind in line
    assert "WECHAT_TEMPLATE_<KIND>" in line
    assert result.output.rstrip().endswith("All checks passed, 1 warning(s).")

    # all but one configured, one through the JSON: only that one is named
    kinds = list(DEMO_TEMPLATES)
    env.update({f"WECHAT_TEMPLATE_{kind.upper()}": f"tpl-{kind}" for kind in kinds[2:]})
    env["WECHAT_TEMPLATES_JSON"] = json.dumps({kinds[1]: {"template_id": "tpl-json"}})
    result = run_doctor(env, "--skip-wechat")
    (line,) = _lines(result.output)["templates"]
    assert line.startswith("WARN") and f"1 of {len(kinds)}" in line and kinds[0] in line, line
    assert kinds[1] not in line.replace(kinds[0], "")

    env[f"WECHAT_TEMPLATE_{kinds[0].upper()}"] = "tpl-first"
    result = run_doctor(env, "--skip-wechat")
    assert _lines(result.output)["templates"][0].startswith("OK   templates"), result.output
    assert result.output.rstrip().endswith("All checks passed.")


def test_doctor_judges_the_templates_as_production_also_when_it_refuses_to_start(
    app, run_doctor, tmp_path
):
    env = {**_production(app, tmp_path), "SECRET_KEY": "short"}
    result = run_doctor(env, "--skip-wechat")
    assert result.exit_code == 1
    assert _lines(result.output)["templates"][0].startswith("WARN"), result.output


def test_outside_production_the_demo_templates_stand_in(app, run_doctor, tmp_path):
    result = run_doctor(session_env(app, tmp_path), "--skip-wechat")
    assert result.exit_code == 0, result.output
    line = _lines(result.output)["templates"][0]
    assert line.startswith("OK   templates      test: the sandbox's demo templates"), line


def test_the_template_line_names_kinds_the_official_account_carries(app, monkeypatch):
    from server.ops.checks import check_templates

    monkeypatch.setitem(app.config, "WECHAT_OA_APPID", "wxoa")
    monkeypatch.setitem(app.config, "WECHAT_OA_SECRET", "oa-secret")
    monkeypatch.setitem(
        app.config, "WECHAT_OA_TEMPLATES_JSON", json.dumps({"work_order_new": {"template_id": "x"}})
    )
    check = check_templates(production=True)
    assert check.ok and check.warn
    assert "staff following the official account get work_order_new there" in check.detail
    assert app.config["FENGCHAO_ENV"] == "test"  # judged as production for a moment only
