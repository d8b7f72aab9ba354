"""Settings: production refuses unsafe defaults, one line per problem."""

from __future__ import annotations

import pytest
from flask import current_app

from server import create_app
from server.config import ConfigError, load_settings
from tests.ops.helpers import restore_limiter


def test_production_refuses_defaults(tmp_path):
    with pytest.raises(ConfigError) as info:
        create_app({"ENV": {"FENGCHAO_ENV": "production", "FENGCHAO_INSTANCE_DIR": str(tmp_path)}})
    text = "\n".join(info.value.problems)
    for needle in (
        "SECRET_KEY",
        "PHONE_ENCRYPTION_KEY",
        "WECHAT_APPID",
        "WECHAT_SECRET",
        "WECHAT_TOKEN",
        "SQLite",
        "REDIS_URL",
    ):
        assert needle in text


def test_production_refuses_the_sandbox_unless_allowed(tmp_path):
    env = {
        "FENGCHAO_ENV": "production",
        "FENGCHAO_INSTANCE_DIR": str(tmp_path),
        "SECRET_KEY": "s" * 40,
        "PHONE_ENCRYPTION_KEY": "p" * 40,
        "WECHAT_APPID": "wx1",
        "WECHAT_SECRET": "x",
        "WECHAT_TOKEN": "t",
        "WECHAT_API_BASE_URL": "http://127.0.0.1:5001/",
        "DATABASE_URL": "postgresql+psycopg://u@127.0.0.1/db",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    with pytest.raises(ConfigError) as info:
        create_app({"ENV": env})
    assert info.value.problems == [
        "WECHAT_API_BASE_URL is not WeChat's own (set ALLOW_SANDBOX_IN_PRODUCTION=1 only in tests)"
    ]
    session_app = current_app._get_current_object()
    try:
        app = create_app({"ENV": {**env, "ALLOW_SANDBOX_IN_PRODUCTION": "1"}})
    finally:
        restore_limiter(session_app)  # the limiter binds to the newest app
    assert app.config["FENGCHAO_ENV"] == "production"
    assert app.config["LOG_FORMAT"] == "json"


def test_unreadable_database_urls_are_named(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings(str(tmp_path), {"DATABASE_URL": "nonsense", "DATABASE_REPLICA_URL": "db:"})
    assert [p.split()[0] for p in info.value.problems] == ["DATABASE_URL", "DATABASE_REPLICA_URL"]
    assert "postgresql+psycopg://" in info.value.problems[0]


def test_bad_numbers_are_named(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_settings(str(tmp_path), {"TOKEN_TTL_SECONDS": "a week", "WECHAT_TIMEOUT": "soon"})
    assert len(info.value.problems) == 2
    assert "TOKEN_TTL_SECONDS" in info.value.problems[0]


def test_embedded_defaults_need_no_environment(tmp_path):
    settings = load_settings(str(tmp_path), {})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'fengchao.db'}"
    assert settings["REDIS_URL"] is None
    assert settings["WECHAT_API_BASE_URL"] == "http://127.0.0.1:5001/"


def test_an_unknown_log_level_is_named_and_any_case_is_read(tmp_path):
    """`verbose` was ignored by the web app (INFO) and made `fengchao worker` fail at start."""
    with pytest.raises(ConfigError) as info:
        load_settings(str(tmp_path), {"LOG_LEVEL": "verbose"})
    assert info.value.problems == [
        "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (got 'verbose')"
    ]
    assert load_settings(str(tmp_path), {"LOG_LEVEL": " warning "})["LOG_LEVEL"] == "WARNING"
    assert load_settings(str(tmp_path), {})["LOG_LEVEL"] == "INFO"


@pytest.mark.parametrize(
    "url",
    ["https://api.weixin.qq.com", "https://api.weixin.qq.com/", " https://api.weixin.qq.com "],
)
def test_wechats_own_address_without_its_slash_is_wechats_own(tmp_path, url):
    settings = load_settings(str(tmp_path), {"WECHAT_API_BASE_URL": url})
    assert settings["WECHAT_API_BASE_URL"] == "https://api.weixin.qq.com/"


def test_seed_demo_is_refused_in_production_unless_allowed(app, monkeypatch):
    """The demo's made-up communities lie over a real street: on a live system real
    reports would be routed to them."""
    from click.testing import CliRunner

    from server.org.models import OrgUnit

    monkeypatch.setitem(app.config, "FENGCHAO_ENV", "production")
    before = OrgUnit.query.count()
    result = CliRunner().invoke(app.cli, ["seed-demo"])
    assert result.exit_code != 0
    assert "seed-demo refused: FENGCHAO_ENV=production" in result.output
    assert OrgUnit.query.count() == before
