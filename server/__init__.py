"""Fengchao 蜂巢: the app factory."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, send_from_directory

from server.config import ConfigError, check_production, load_settings
from server.errors import register_error_handlers
from server.extensions import FengchaoApi, db, limiter, limiter_storage_uri, migrate, redis_ext
from server.logging_setup import setup_logging

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")
# Each domain's models (imported at start so the metadata and migrations see them all).
MODEL_MODULES = [
    "server.auth.models",
    "server.org.models",
]
# Each domain's blueprint; registered in this order.
BLUEPRINTS = [
    "server.auth.views",
    "server.org.views",
]
# Each domain's extra CLI commands ("module.attribute" of a click command).
CLI_COMMANDS: list[str] = []
# Each domain's demo data ("module.function(units) -> summary lines"), see server/demo.py.
DEMO_SEEDERS: list[str] = []
# Processes `fengchao dev` (make run) starts beside the server ("module.function(app)").
DEV_PROCESSES: list[str] = []
# Periodic jobs run by the scheduler: ("module.function", every N seconds). Each job is
# idempotent and safe to run on several nodes at once (it takes its own locks).
PERIODIC_JOBS: list[tuple[str, int]] = []
# Handlers for WeChat push events/messages by type ("module.function(message_dict)").
WECHAT_EVENT_HANDLERS: dict[str, list[str]] = {}


def create_app(overrides: dict | None = None) -> Flask:
    """config → extensions → blueprints → errors → cli."""
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    env = dict(os.environ)
    if overrides and "ENV" in overrides:
        env.update(overrides.pop("ENV"))
    app.config.update(load_settings(app.instance_path, env))
    if overrides:
        app.config.update(overrides)
    problems = check_production(app.config)
    if problems:
        raise ConfigError(problems)
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    app.json.ensure_ascii = False  # Chinese as it is, not \uXXXX

    setup_logging(app)
    _import_all(MODEL_MODULES)
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    redis_ext.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(app))
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "fc-rl")
    limiter.init_app(app)
    api = FengchaoApi(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    _register_blueprints(api)
    _register_docs_assets(app)
    register_error_handlers(app)

    from server.cli import register_cli

    register_cli(app)
    return app


def _import_all(names: list[str]) -> list:
    import importlib

    return [importlib.import_module(name) for name in names]


def _register_blueprints(api: FengchaoApi) -> None:
    for module in _import_all(BLUEPRINTS):
        api.register_blueprint(module.blp)


def _register_docs_assets(app: Flask) -> None:
    import swagger_ui_bundle

    @app.get("/api/v1/docs/assets/<path:filename>")
    def docs_assets(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
