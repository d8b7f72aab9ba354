"""`fengchao doctor`: configuration and connectivity, one line per check, non-zero on a failure."""

from __future__ import annotations

import os

import click


@click.command("doctor")
@click.option("--skip-wechat", is_flag=True, help="do not fetch a WeChat access token")
def doctor(skip_wechat: bool):
    """Check configuration, database, Redis, migrations, the replica (when set), WeChat and
    the message templates; exit 1 if any fails (a WARN line does not)."""
    from server import create_app
    from server.config import ConfigError
    from server.ops.checks import (
        Check,
        check_configuration,
        check_database,
        check_migrations,
        check_redis,
        check_replica,
        check_templates,
        check_wechat,
    )

    checks: list[Check] = []
    redis_unset = False
    try:
        app = create_app()
    except ConfigError as exc:
        # The app refuses to start: report each problem, then check connectivity with the
        # same environment, refusals lifted (the WeChat check needs a complete configuration).
        checks += [Check("configuration", False, problem) for problem in exc.problems]
        try:
            app = _lenient_app()
        except ConfigError as unreadable:  # a setting itself is unreadable (not a number,
            # an unknown FENGCHAO_ENV): nothing can be checked until it is fixed
            known = set(exc.problems)
            checks += [
                Check("configuration", False, problem)
                for problem in unreadable.problems
                if problem not in known
            ]
            _emit(checks)
            click.echo(f"{len(checks)} check(s) failed; fix the configuration and run again.")
            raise SystemExit(1) from None
        skip_wechat = True
        redis_unset = not os.environ.get("REDIS_URL")
    else:
        checks += check_configuration(app.config)
    _emit(checks)
    with app.app_context():
        redis = Check("redis", False, "REDIS_URL is not set") if redis_unset else check_redis()
        more = [check_database(), redis]
        _emit(more)
        checks += more
        if more[0].ok:
            checks.append(check_migrations())
        else:
            checks.append(Check("migrations", False, "not checked: the database is unreachable"))
        _emit(checks[-1:])
        replica = check_replica()
        if replica is not None:
            checks.append(replica)
            _emit(checks[-1:])
        if skip_wechat:
            click.echo(f"SKIP {'wechat':<14} not checked")
        else:
            checks.append(check_wechat())
            _emit(checks[-1:])
        # as production reads them, also when the lenient app above stands in for it
        checks.append(check_templates(os.environ.get("FENGCHAO_ENV") == "production" or None))
        _emit(checks[-1:])
        _release(app)
    failed = [check for check in checks if not check.ok]
    if failed:
        click.echo(f"{len(failed)} check(s) failed.")
        raise SystemExit(1)
    warned = [check for check in checks if check.warn]
    click.echo(f"All checks passed, {len(warned)} warning(s)." if warned else "All checks passed.")


def _release(app) -> None:
    """Close what the checks opened (connections, the WeChat client's HTTP session)."""
    from server.extensions import db

    db.session.remove()
    for engine in db.engines.values():  # the replica's too
        engine.dispose()
    client = app.extensions.pop("wechat_client", None)
    if client is not None:
        client.close()
    for name in ("redis", "redis_raw"):
        if name in app.extensions:
            app.extensions[name].connection_pool.disconnect()


def _emit(checks) -> None:
    for check in checks:
        click.echo(check.line())


def _lenient_app():
    """The app from the same environment with production's refusals waived."""
    from server import create_app

    env = dict(os.environ)
    overrides = {
        "ALLOW_SQLITE_IN_PRODUCTION": "1",
        "ALLOW_SANDBOX_IN_PRODUCTION": "1",
    }
    env.update(overrides)
    env["REDIS_URL"] = env.get("REDIS_URL") or "redis://redis-url-is-not-set.invalid:6379/0"
    if env.get("FENGCHAO_ENV") == "production":
        # check_production only runs in production; the settings themselves stay as given
        env["FENGCHAO_ENV"] = "test"
    return create_app({"ENV": env})
