"""`fengchao outbox …`: the operator's view of notification delivery."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import or_, select

from server.extensions import db


@click.group("outbox")
def outbox_cli():
    """The notification outbox: status and retries."""


@outbox_cli.command("status")
@with_appcontext
def status():
    """Count notifications by delivery state (and how many are stuck).

    pending and sending are counted in full; sent, inbox and failed only over the recent
    window (by when they reached that state), as the output says.
    """
    from server.notifications.admin import LIVE_STATUSES, TERMINAL_STATUSES, outbox_summary

    summary = outbox_summary()
    counts = summary["counts"]
    for name in LIVE_STATUSES:
        click.echo(f"{name:10} {counts.get(name, 0)}")
    click.echo(f"{'stuck':10} {summary['stuck']}")
    click.echo(f"in the last {summary['window_days']} days:")
    for name in TERMINAL_STATUSES:
        click.echo(f"{name:10} {counts.get(name, 0)}")


@outbox_cli.command("retry")
@click.option(
    "--id",
    "ids",
    type=click.IntRange(1, 2**63 - 1),  # a BIGINT: beyond it no notification exists
    multiple=True,
    help="a notification id (repeatable)",
)
@click.option(
    "--all-failed",
    is_flag=True,
    help="every failed or stuck notification, except those whose send timed out after it "
    "went out or whose worker was lost on its last attempt (WeChat may have delivered them)",
)
@click.option(
    "--include-unknown",
    is_flag=True,
    help="with --all-failed: those whose outcome is unknown too (they may arrive twice)",
)
@with_appcontext
def retry(ids: tuple[int, ...], all_failed: bool, include_unknown: bool):
    """Put failed or stuck notifications back in the outbox (the worker sends them).

    `--all-failed` leaves out sends whose outcome is unknown (a timeout after the request
    went out, a worker lost on the last attempt) unless `--include-unknown`: after a WeChat
    outage those are the many, and each may already have reached its user. Name one with
    `--id` to resend it anyway.
    Exits 1 when any of them could not be requeued (unknown, being sent, or already sent).
    """
    from server.errors import DomainError
    from server.notifications.admin import outbox_query
    from server.notifications.admin import retry as retry_one
    from server.notifications.models import Notification

    if not ids and not all_failed:
        raise click.UsageError("name notifications with --id, or pass --all-failed")
    targets = list(ids)
    if all_failed:
        from server.notifications.tasks import OUTCOME_UNKNOWN, WORKER_LOST

        stmt = outbox_query("problems").with_only_columns(Notification.id)
        if not include_unknown:
            stmt = stmt.where(
                or_(
                    Notification.last_error.is_(None),
                    Notification.last_error.not_in((OUTCOME_UNKNOWN, WORKER_LOST)),
                )
            )
        targets += list(db.session.execute(select(stmt.subquery())).scalars())
    done = refused = 0
    for notification_id in dict.fromkeys(targets):
        try:
            retry_one(notification_id)
            done += 1
        except DomainError as exc:
            refused += 1
            click.echo(f"{notification_id}: not requeued ({exc.code}): {exc.message}", err=True)
    click.echo(f"requeued {done}" + (f", not requeued {refused}" if refused else ""))
    if refused:
        raise SystemExit(1)
