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
