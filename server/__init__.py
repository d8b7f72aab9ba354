"""Fengchao 蜂巢: the app factory."""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import weakref
from pathlib import Path

from flask import Flask, send_from_directory
from flask.globals import request_ctx
from flask.sessions import SessionInterface

import server.zh_messages  # noqa: F401  (before any schema is defined)
from server.config import ConfigError, check_production, load_settings
from server.errors import register_error_handlers
from server.extensions import (
    FengchaoApi,
    db,
    limiter,
    limiter_storage_options,
    limiter_storage_uri,
    migrate,
    redis_ext,
)
from server.http import FastJSONProvider
from server.logging_setup import setup_logging

MIGRATIONS_DIR = str(Path(__file__).parent / "migrations")
# Each domain's models (imported at start so the metadata and migrations see them all).
MODEL_MODULES = [
    "server.auth.models",
    "server.org.models",
    "server.stations.models",
    "server.points.models",
    "server.posts.models",
    "server.activities.models",
    "server.needs.models",
    "server.notifications.models",
    "server.uploads.models",
    "server.reports.models",
]
# Each domain's blueprint; registered in this order.
BLUEPRINTS = [
    "server.auth.views",
    "server.org.views",
    "server.stations.views",
    "server.points.views",
    "server.ops.views",
    "server.activities.views",
    "server.posts.views",
    "server.needs.views",
    "server.notifications.views",
    "server.uploads.views",
    "server.reports.views",
    "server.wechat.callback",
]
# Each domain's extra CLI commands ("module.attribute" of a click command).
CLI_COMMANDS: list[str] = [
    "server.notifications.cli.outbox_cli",
    "server.reports.cli.inbox_cli",
    "server.ops.export.export_community_command",
    "server.points.cli.points_cli",
    "server.points.cli.rankings_cli",
    "server.ops.cli.doctor",
    "server.notifications.worker.worker_command",
    "server.notifications.worker.scheduler_command",
]
# Each domain's demo data ("module.function(units) -> summary lines"), see server/demo.py.
DEMO_SEEDERS: list[str] = [
    "server.activities.demo.seed_activities_demo",
    "server.stations.demo.seed_stations",
    "server.points.demo.seed_points",
    "server.reports.categories.seed_demo",
]
# What each domain gives a new org unit, in the transaction that creates it, however it is
# created (`org-unit add`, POST /admin/org-units, the demo): "module.function(unit)", see
# server/org/services.create_org_unit.
ORG_UNIT_CREATED: list[str] = [
    "server.reports.categories.on_org_unit_created",  # a street's report categories
]
# What each domain does when a user cancels their account (注销账号), in the transaction that
# cancels it, in this order (activity and post locks before the points account's, as their
# awards take them): "module.function(user)", returning None or a function to run once the
# cancellation has committed. See server/auth/cancellation.py.
ACCOUNT_CANCELLED: list[str] = [
    "server.activities.services.on_account_cancelled",  # future enrolments withdrawn
    "server.posts.services.on_account_cancelled",  # post claims released
    "server.needs.services.on_account_cancelled",  # open needs withdrawn
    "server.points.redemptions.on_account_cancelled",  # vouchers refunded, balance forfeited
    "server.reports.wechat_channel.on_account_cancelled",  # WeChat inbox rows anonymised
    "server.uploads.services.on_account_cancelled",  # unattached photos deleted
    "server.notifications.services.on_account_cancelled",  # last: drops the notices above
]
# What each domain does when a staff member's binding ends — unbound, or bound to another
# unit (then `now_bound` is the new binding) — in the transaction that ends it:
# "module.function(user_id, now_bound)", see server/org/services.py.
STAFF_BINDING_ENDED: list[str] = [
    "server.reports.workflow.on_staff_binding_ended",  # their open work orders handed back
]
# Processes `fengchao dev` (make run) starts beside the server ("module.function(app)").
DEV_PROCESSES: list[str] = [
    "server.notifications.worker.start_dev_worker",
]
# Periodic jobs run by the scheduler: ("module.function", every N seconds). Each job is
# idempotent and safe to run on several nodes at once (it takes its own locks).
PERIODIC_JOBS: list[tuple[str, int]] = [
    ("server.activities.tasks.auto_sign_out", 60),
    ("server.activities.tasks.send_reminders", 300),
    ("server.points.tasks.expire_redemptions", 3600),
    ("server.points.tasks.rebuild_rankings", 3600),  # repairs a lost ranking write
    ("server.notifications.tasks.sweep_outbox", 15),
    ("server.reports.tasks.scan_overdue", 300),
    ("server.reports.tasks.request_media_checks", 60),
    ("server.reports.tasks.recheck_pending_reports", 300),
    ("server.reports.tasks.process_wechat_inbox", 5),
]
# Handlers for WeChat push events/messages by type ("module.function(message_dict)").
WECHAT_EVENT_HANDLERS: dict[str, list[str]] = {
    "subscribe_msg_popup_event": ["server.notifications.events.on_popup"],
    "subscribe_msg_change_event": ["server.notifications.events.on_change"],
    "subscribe_msg_sent_event": ["server.notifications.events.on_sent"],
    "wxa_media_check": ["server.reports.wechat_channel.on_media_check"],
    "text": ["server.reports.wechat_channel.enqueue_message"],
    "image": ["server.reports.wechat_channel.enqueue_message"],
    "location": ["server.reports.wechat_channel.enqueue_message"],
    # message types no domain handles get a helpful reply
    "message_default": ["server.reports.wechat_channel.enqueue_message"],
}


def create_app(overrides: dict | None = None) -> Flask:
    """config → extensions → blueprints → errors → cli."""
    env = dict(os.environ)
    if overrides and "ENV" in overrides:
        env.update(overrides.pop("ENV"))
    # the instance folder the app uses, also as Flask's (`fengchao shell` prints it)
    instance_dir = env.get("FENGCHAO_INSTANCE_DIR")
    app = FengchaoFlask(
        __name__,
        instance_path=os.path.abspath(instance_dir) if instance_dir else None,
        instance_relative_config=True,
        static_folder=None,
    )
    app.config.update(load_settings(app.instance_path, env))
    if overrides:
        app.config.update(overrides)
    problems = check_production(app.config)
    if problems:
        raise ConfigError(problems)
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    app.json = FastJSONProvider(app)  # orjson; Chinese as it is, keys as built
    app.session_interface = NoCookieSessions()

    setup_logging(app)
    _import_all(MODEL_MODULES)
    db.init_app(app)
    _prepare_engines(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR, render_as_batch=True)
    redis_ext.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", limiter_storage_uri(app))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", limiter_storage_options(app))
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "fc-rl")
    limiter.init_app(app)
    api = FengchaoApi(app)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    )
    from server import security

    security.init_app(app, api)  # headers, no CORS, bounded ids (before the blueprints)
    _register_blueprints(api)
    _check_limits_only_where_declared(app)  # after the views have declared theirs
    _register_docs_assets(app)
    register_error_handlers(app)

    from server.cli import register_cli

    register_cli(app)
    return app


_IS_ASYNC: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class FengchaoFlask(Flask):
    """Flask, remembering which functions are coroutines: it asks `iscoroutinefunction` of
    every hook and view on every request (13 times a request here, bench/README.md)."""

    def ensure_sync(self, func):
        target = getattr(func, "__func__", func)  # a bound method: its function
        try:
            is_async = _IS_ASYNC[target]
        except (KeyError, TypeError):  # new, or not weakly referable
            is_async = inspect.iscoroutinefunction(func)
            with contextlib.suppress(TypeError):
                _IS_ASYNC[target] = is_async
        return self.async_to_sync(func) if is_async else func


class NoCookieSessions(SessionInterface):
    """The API authenticates with bearer tokens and keeps no cookie sessions. Flask's default
    builds a signing serializer to open one on every request (≈0.05 ms of CPU, bench/
    README.md); here `flask.session` is Flask's read-only null session instead."""

    def open_session(self, app, request):
        return None  # Flask then uses make_null_session()

    def save_session(self, app, session, response):
        return None


# Engines of every app in this process, disposed in a forked child (gunicorn preload_app:
# the master builds the app once, every worker is a fork of it and must not share the
# master's database sockets). redis-py notices the new pid and resets its pools itself.
_ENGINES: weakref.WeakSet = weakref.WeakSet()


def _dispose_after_fork() -> None:
    for engine in list(_ENGINES):
        engine.dispose(close=False)  # forget the parent's connections without closing them


os.register_at_fork(after_in_child=_dispose_after_fork)


def _prepare_engines(app: Flask) -> None:
    """Fork-safe (above), pinged only when a connection may be stale, and never waiting
    more than a few seconds for PostgreSQL to answer a connection (server/db_pool)."""
    from server.db_pool import bound_connect_time, ping_when_idle

    with app.app_context():
        _ENGINES.update(db.engines.values())
        for engine in db.engines.values():
            ping_when_idle(engine)
            bound_connect_time(engine)


def _check_limits_only_where_declared(app: Flask) -> None:
    """Every limit here is declared on its view (`@limiter.limit`, `@limiter.shared_limit`),
    whose wrapper checks it. Flask-Limiter also hooks every request: a before_request check
    for default, application and meta limits, and an after_request (headers, `deduct_when`
    deductions) with a teardown that resets its per-request state. With nothing to do they
    cost ≈0.25 ms of CPU per request (bench/README.md): the check is taken out unless
    app-wide limits are configured, and the other two run only for a request that checked a
    limit (≈0.012 ms saved on every other request).
    """
    if not any(
        app.config.get(k) for k in ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")
    ):
        hooks = app.before_request_funcs.get(None, [])
        app.before_request_funcs[None] = [f for f in hooks if f != limiter._check_request_limit]
    after = app.after_request_funcs.get(None, [])
    app.after_request_funcs[None] = [_when_limiter_consulted(f) for f in after]
    teardown = app.teardown_request_funcs.get(None, [])
    app.teardown_request_funcs[None] = [_when_limiter_consulted(f) for f in teardown]


# Where Flask-Limiter keeps its per-request state, made on the request's first limit check.
_LIMITER_STATE = "_limiter_request_context"


def _when_limiter_consulted(hook):
    """Flask-Limiter's after_request (a partial over the limiter: rate-limit headers,
    Retry-After, `deduct_when` deductions) or teardown (a method: resets its state), run
    only for a request that checked a limit — for any other both find empty state, made for
    the purpose. A view's limit check makes that state (tests/ops/test_rate_limits.py: the
    headers of a limited view and its 429's Retry-After). Any other hook is returned as is.
    """
    bound = getattr(hook, "__self__", None) or (getattr(hook, "args", None) or (None,))[0]
    if bound is not limiter:
        return hook

    @functools.wraps(hook)
    def guarded(arg):
        if hasattr(request_ctx._get_current_object(), _LIMITER_STATE):
            return hook(arg)
        return arg

    guarded.fengchao_limiter_hook = hook
    return guarded


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
