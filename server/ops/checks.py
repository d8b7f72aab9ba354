"""The checks behind /readyz and `fengchao doctor`: each answers a `Check`, never raises."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from functools import lru_cache

from flask import current_app
from sqlalchemy import text

log = logging.getLogger(__name__)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""
    data: dict = field(default_factory=dict)
    # ok, but something an operator should know (WARN): doctor still exits 0
    warn: bool = False

    def line(self) -> str:
        """One line for an operator: `OK   database    postgresql … (3 ms)`."""
        state = ("WARN" if self.warn else "OK  ") if self.ok else "FAIL"
        return f"{state} {self.name:<14} {self.detail}".rstrip()


def _failure(name: str, exc: BaseException) -> Check:
    log.warning("check %s failed: %s: %s", name, type(exc).__name__, exc)
    # the message's first line, and the driver's hint when it gives one on the next
    # ("Is the server running on that host and accepting TCP/IP connections?"); not
    # SQLAlchemy's statement or background link
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    said = lines[:1] + [
        line for line in lines[1:2] if not line.startswith(("(Background on", "[SQL", "["))
    ]
    return Check(
        name,
        False,
        f"{type(exc).__name__}: {' '.join(said)[:300]}".rstrip(": "),
        {"error": type(exc).__name__},
    )


def check_database() -> Check:
    """The database answers `SELECT 1`."""
    from server.extensions import db

    started = time.perf_counter()
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return _failure("database", exc)
    url = db.engine.url.render_as_string(hide_password=True)
    return Check("database", True, f"{url} ({(time.perf_counter() - started) * 1000:.0f} ms)")


def check_replica() -> Check | None:
    """The read replica (`DATABASE_REPLICA_URL`, server/db_replica.py) answers, is a standby
    that receives the primary's WAL, and when it last replayed a transaction; None when
    none is configured. Not part of /readyz: without it statistics and exports read the
    primary."""
    from server.db_replica import replica_engine

    engine = replica_engine()
    if engine is None:
        return None
    started = time.perf_counter()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            ok, state = True, ""
            if engine.dialect.name == "postgresql":
                ok, state = standby_state(*_standby_facts(conn))
    except Exception as exc:
        failed = _failure("replica", exc)
        failed.detail += " (statistics and exports read the primary meanwhile)"
        return failed
    url = engine.url.render_as_string(hide_password=True)
    took = (time.perf_counter() - started) * 1000
    return Check("replica", ok, f"{url} ({took:.0f} ms){state}")


def _standby_facts(conn) -> tuple[bool, str | None, float | None]:
    in_recovery, replayed_ago = conn.execute(
        text(
            "SELECT pg_is_in_recovery(), "
            "EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())"
        )
    ).one()
    # no row: no WAL receiver; a row whose status is NULL: one runs, but this role may not
    # see its details (they need pg_read_all_stats)
    row = conn.execute(text("SELECT pid, status FROM pg_stat_wal_receiver")).first()
    receiver = None if row is None else (row.status or HIDDEN)
    return bool(in_recovery), receiver, None if replayed_ago is None else float(replayed_ago)


HIDDEN = "hidden"


def standby_state(
    in_recovery: bool, receiver: str | None, replayed_ago: float | None
) -> tuple[bool, str]:
    """(ok, what to say) of a replica: a server that is not a standby, or a standby that
    receives no WAL, serves statistics that stopped at some moment — a FAIL."""
    if not in_recovery:
        return False, (
            ", not a standby (pg_is_in_recovery() is false): it does not follow the primary, "
            "statistics and exports would read whatever it holds"
        )
    if receiver == HIDDEN:
        return True, (
            ", standby with a WAL receiver whose state this role may not see "
            "(GRANT pg_read_all_stats to it to check that it streams)"
        )
    if receiver != "streaming":
        return False, (
            f", standby not streaming from the primary (WAL receiver: {receiver or 'none'}): "
            "statistics and exports fall behind"
        )
    if replayed_ago is None:
        return True, ", standby, streaming, no transaction replayed yet"
    # the time since the last replayed transaction: the lag while the primary is busy, the
    # primary's quiet time when it is not
    return True, f", standby, streaming, last transaction replayed {replayed_ago:.1f} s ago"


def check_redis() -> Check:
    """Redis answers PING."""
    from server.extensions import get_redis

    started = time.perf_counter()
    try:
        client = get_redis()
        client.ping()
    except Exception as exc:
        return _failure("redis", exc)
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    if hasattr(pool, "service_name"):  # through Sentinel
        # the master the PING just reached, as the pool last heard it from the sentinels
        # (no second question to them: /readyz must not fail on a sentinel outage while
        # Redis itself answers, nor ask the sentinels on every probe of every worker)
        host, port = pool.master_address or ("?", "?")
        where = f"sentinel '{pool.service_name}': master {host}:{port}/{kwargs.get('db', 0)}"
    else:
        where = (
            kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db', 0)}"
        )
    return Check("redis", True, f"{where} ({(time.perf_counter() - started) * 1000:.0f} ms)")


@lru_cache(maxsize=4)
def script_heads(directory: str) -> frozenset[str]:
    """The heads of the migration scripts this process ships (they do not change under it)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def database_heads() -> frozenset[str]:
    """The revisions stamped in the database's alembic_version (empty when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    from server.extensions import db

    with db.engine.connect() as conn:
        return frozenset(MigrationContext.configure(conn).get_current_heads())


def check_migrations() -> Check:
    """The database is at the migration heads of this code (not behind, not ahead)."""
    from server import MIGRATIONS_DIR

    try:
        expected = script_heads(MIGRATIONS_DIR)
        current = database_heads()
    except Exception as exc:
        return _failure("migrations", exc)
    data = {"database": sorted(current), "code": sorted(expected)}
    if current == expected:
        return Check("migrations", True, f"at head ({', '.join(sorted(expected))})", data)
    if not current:
        detail = "the database was never migrated: run `fengchao db upgrade heads`"
    elif current - expected and not _known(current - expected):
        detail = (
            f"the database is at {', '.join(sorted(current))}, unknown to this code "
            "(newer code migrated it?): deploy the newer code here too; never downgrade"
        )
    else:
        detail = (
            f"the database is at {', '.join(sorted(current))}, the code at "
            f"{', '.join(sorted(expected))}: run `fengchao db upgrade heads`"
        )
    return Check("migrations", False, detail, data)


def _known(revisions: frozenset[str]) -> bool:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from server import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIR)
    scripts = ScriptDirectory.from_config(config)
    try:
        return all(scripts.get_revision(rev) is not None for rev in revisions)
    except Exception:
        return False


def check_configuration(config) -> list[Check]:
    """Production's refusal rules; in other environments they are reported, not failed."""
    from server.config import check_production

    env = config["FENGCHAO_ENV"]
    if env == "production":
        problems = check_production(config)
        if not problems:
            return [Check("configuration", True, "production settings are complete")]
        return [Check("configuration", False, problem) for problem in problems]
    would_refuse = check_production({**config, "FENGCHAO_ENV": "production"})
    detail = f"{env} (production checks not enforced"
    detail += f"; {len(would_refuse)} would refuse production)" if would_refuse else ")"
    return [Check("configuration", True, detail)]


def check_wechat() -> Check:
    """A WeChat access token can be fetched with the configured credentials."""
    from server.wechat import get_client

    base = current_app.config.get("WECHAT_API_BASE_URL")
    started = time.perf_counter()
    try:
        client = get_client()
        client.fetch_access_token()
    except Exception as exc:
        errcode = getattr(exc, "errcode", None)
        check = _failure("wechat", exc)
        if errcode is not None:
            check.detail = f"errcode {errcode} from {base}: {check.detail}"
        else:
            check.detail = f"{base}: {check.detail}"
        return check
    elapsed = (time.perf_counter() - started) * 1000
    return Check(
        "wechat",
        True,
        f"token fetched from {base} (appid {current_app.config['WECHAT_APPID']}, {elapsed:.0f} ms)",
    )


def check_templates(production: bool | None = None) -> Check:
    """Which notification kinds (DEMO_TEMPLATES in server/notifications/config.py) have a
    WeChat message template in production: a kind without one is never sent by WeChat, only
    to the in-app inbox (last_error "no template configured for this kind"). A warning, not
    a failure: the inbox still works. `production` (default: FENGCHAO_ENV) judges the
    configuration as production reads it. For `fengchao doctor` only (not /readyz)."""
    from server.notifications.config import DEMO_TEMPLATES, oa_settings, templates

    env = current_app.config.get("FENGCHAO_ENV")
    if production is None:
        production = env == "production"
    try:
        configured = templates(production=True)
        oa = oa_settings()
    except Exception as exc:
        return _failure("templates", exc)
    kinds = list(DEMO_TEMPLATES)
    missing = [kind for kind in kinds if kind not in configured]
    data = {"missing": missing}
    if not missing:
        return Check("templates", True, f"every notification kind has a template ({len(kinds)})")
    if not production:
        return Check(
            "templates",
            True,
            f"{env}: the sandbox's demo templates stand in for {len(missing)} of {len(kinds)} "
            "kinds (production sends those in-app only until WECHAT_TEMPLATE_<KIND> is set)",
            data,
        )
    detail = (
        f"no WeChat template for {len(missing)} of {len(kinds)} notification kinds, sent "
        f"in-app only: {', '.join(missing)} (set WECHAT_TEMPLATE_<KIND> or "
        "WECHAT_TEMPLATES_JSON, .env.example)"
    )
    oa_kinds = oa["templates"] if oa and isinstance(oa.get("templates"), dict) else {}
    by_oa = [kind for kind in missing if kind in oa_kinds]
    if by_oa:
        detail += f"; staff following the official account get {', '.join(by_oa)} there"
    return Check("templates", True, detail, data, warn=True)


def readiness() -> list[Check]:
    """What /readyz checks: database, Redis, migrations at head."""
    database = check_database()
    checks = [database, check_redis()]
    if database.ok:
        checks.append(check_migrations())
    else:
        checks.append(Check("migrations", False, "not checked: the database is unreachable"))
    return checks
