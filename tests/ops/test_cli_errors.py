"""Operator commands on an ordinary mistake: one line saying what to do, exit 1, no
traceback and no password; a bug still shows its traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.exc import ProgrammingError

from server import cli as server_cli
from server.extensions import db as _db
from server.org.models import OrgUnit
from tests.ops.helpers import other_app, session_env

COMMANDS = [
    ["points", "verify"],
    ["outbox", "status"],
    ["rankings", "rebuild"],
    ["invite-staff", "--org-unit", "ST-X", "--role", "admin"],
    ["org-unit", "add", "D-X", "区", "--level", "district"],
    ["export-community", "C-X"],
]


def _clean_failure(result, *said: str) -> str:
    assert result.exit_code == 1, (result.output, repr(result.exception))
    assert isinstance(result.exception, SystemExit), repr(result.exception)[:300]
    assert "Traceback" not in result.output
    for words in said:
        assert words in result.output, result.output
    return result.output


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_an_unmigrated_database_says_to_migrate(app, tmp_path, monkeypatch, args):
    env = {**session_env(app, tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    monkeypatch.chdir(tmp_path)  # export-community's default --out
    with other_app(app, env) as fresh, fresh.app_context():
        result = fresh.test_cli_runner().invoke(args=args)
    _clean_failure(result, "never migrated", "run `fengchao db upgrade heads`")


def test_a_database_behind_the_code_says_to_migrate(app, tmp_path):
    env = {**session_env(app, tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'old.db'}"}
    with other_app(app, env) as fresh, fresh.app_context():
        from flask_migrate import upgrade

        upgrade(revision="ad3b53b74512")  # the first revision: accounts and the tree only
        result = fresh.test_cli_runner().invoke(args=["points", "verify"])
    _clean_failure(result, "the database is at ad3b53b74512", "run `fengchao db upgrade heads`")


@pytest.mark.parametrize(
    "args",
    [
        ["points", "verify"],
        ["outbox", "status"],
        ["org-unit", "add", "D-X", "区", "--level", "district"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_an_unreachable_database_is_named_without_its_password(app, tmp_path, args):
    env = {
        **session_env(app, tmp_path),
        "DATABASE_URL": "postgresql+psycopg://fengchao:hunter2@127.0.0.1:1/fengchao",
    }
    with other_app(app, env) as dead, dead.app_context():
        result = dead.test_cli_runner().invoke(args=args)
    output = _clean_failure(
        result, "database unreachable (postgresql+psycopg://fengchao:***@127.0.0.1:1/fengchao)"
    )
    assert "DATABASE_URL" in output and "hunter2" not in output


@pytest.mark.parametrize(
    "args", [["rankings", "rebuild"], ["scheduler", "--once"]], ids=lambda a: a[0]
)
def test_an_unreachable_redis_is_named_without_its_password(app, units, tmp_path, args):
    env = {**session_env(app, tmp_path), "REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"}
    with other_app(app, env) as dead, dead.app_context():
        result = dead.test_cli_runner().invoke(args=args)
    output = _clean_failure(result, "Redis unreachable (redis://:***@127.0.0.1:1/0)", "REDIS_URL")
    assert "hunter2" not in output


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("redis://user:pw@h:6379/0", "redis://user:***@h:6379/0"),
        ("redis://h:6379/0?password=pw", "redis://h:6379/0"),
        ("rediss://pw@h/1", "rediss://***@h/1"),
        (
            "redis+sentinel://:pw@s1:26379,s2:26379/fc/0",
            "redis+sentinel://:***@s1:26379,s2:26379/fc/0",
        ),
        ("redis://h:6379/0", "redis://h:6379/0"),
    ],
)
def test_redis_urls_are_shown_without_passwords(url, shown):
    assert server_cli.redact_url(url) == shown


@pytest.mark.parametrize(
    "said", ["syntax error at or near", "no such column: ledger_entries.nonsense"]
)
def test_a_bug_still_shows_its_traceback(app, db, monkeypatch, said):
    """Only connectivity and a schema behind the code are ordinary: an SQL error against a
    database that answers and is at the code's migrations is raised as it is."""
    from server.points import services

    def broken():
        raise ProgrammingError("SELECT nonsense", {}, Exception(said))

    monkeypatch.setattr(services, "verify_ledger", broken)
    result = app.test_cli_runner().invoke(args=["points", "verify"])
    assert isinstance(result.exception, ProgrammingError), repr(result.exception)


def test_a_refused_configuration_is_listed_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env of the working copy
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PHONE_ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    env = {"FENGCHAO_ENV": "production", "FENGCHAO_INSTANCE_DIR": str(tmp_path)}
    result = CliRunner().invoke(server_cli.main, ["points", "verify"], env=env)
    _clean_failure(result, "SECRET_KEY is the default", "fengchao doctor")
    # `fengchao --help` likewise: the problems, then the commands that need no app
    help_text = CliRunner().invoke(server_cli.main, ["--help"], env=env)
    assert help_text.exit_code == 0 and "Traceback" not in help_text.output
    assert "SECRET_KEY is the default" in help_text.output and "doctor" in help_text.output


def test_dev_refuses_production_as_seed_demo_does(app, db, monkeypatch):
    import werkzeug.serving

    started = []
    monkeypatch.setitem(app.config, "FENGCHAO_ENV", "production")
    monkeypatch.setattr(server_cli, "_dev_processes", lambda: [lambda app: started.append(app)])
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *a, **k: started.append("server"))
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 1  # refused
    result = app.test_cli_runner().invoke(args=["dev"])
    _clean_failure(result, "FENGCHAO_ENV=production")
    demo = select(func.count()).select_from(OrgUnit).where(OrgUnit.code == "ST-HUAIHE")
    assert _db.session.execute(demo).scalar_one() == 0, "the demo street in a production database"
    assert started == []
