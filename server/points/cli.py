"""`fengchao points verify` and `fengchao rankings rebuild`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

points_cli = AppGroup("points", help="The points ledger.")
rankings_cli = AppGroup("rankings", help="The rankings in Redis.")


@points_cli.command("verify")
def verify_command():
    """Check every account: balance = sum of its entries, no negative running balance."""
    from server.points.services import verify_ledger

    problems = verify_ledger()
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} ledger problem(s) found")
    click.echo("points ledger OK")


@rankings_cli.command("rebuild")
def rebuild_command():
    """Rebuild every community's and street's rankings (month and all time) from the ledger."""
    from server.points.rankings import rebuild_all

    done = rebuild_all()
    members = sum(count or 0 for _, _, count in done)
    failed = [(unit_id, period) for unit_id, period, count in done if count is None]
    click.echo(f"rebuilt {len(done) - len(failed)} rankings ({members} entries)")
    if failed:  # the restore runbook chains `rankings rebuild && points verify && doctor`
        listed = ", ".join(f"unit {unit_id} {period}" for unit_id, period in failed)
        raise click.ClickException(
            f"{len(failed)} ranking(s) could not be rebuilt ({listed}): their rebuild log "
            "kept disappearing (Redis flushed or failed over meanwhile). Check Redis "
            "(`fengchao doctor`) and run the command again."
        )
