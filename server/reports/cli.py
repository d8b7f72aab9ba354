"""`fengchao inbox …`: the operator's view of the messages residents sent to the official
account (`wechat_inbound`, handled by the `process_inbox` job)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select, update

from server.extensions import db


@click.group("inbox")
def inbox_cli():
    """Messages to the official account: status, and retrying the ones given up."""


@inbox_cli.command("status")
@click.option(
    "--failed",
    "show_failed",
    type=click.IntRange(0, 1000),
    default=20,
    show_default=True,
    help="list this many of the failed messages, newest first",
)
@with_appcontext
def status(show_failed: int):
    """Count messages by state and list the failed ones (id, when, sender's message type,
    the error of their last try)."""
    from server.reports.models import WeChatInbound

    counts = dict(
        db.session.execute(
            select(WeChatInbound.status, func.count()).group_by(WeChatInbound.status)
        ).all()
    )
    for name in ("pending", "processing", "done", "failed"):
        click.echo(f"{name:10} {counts.pop(name, 0)}")
    for name, count in sorted(counts.items()):
        click.echo(f"{name:10} {count}")
    if not show_failed:
        return
    failed = db.session.execute(
        select(
            WeChatInbound.id,
            WeChatInbound.created_at,
            WeChatInbound.msg_type,
            WeChatInbound.attempts,
            WeChatInbound.error,
        )
        .where(WeChatInbound.status == "failed")
        .order_by(WeChatInbound.id.desc())
        .limit(show_failed)
    ).all()
    for row in failed:
        click.echo(
            f"  #{row.id} {row.created_at:%Y-%m-%d %H:%M} UTC {row.msg_type}, "
            f"{row.attempts} tries: {row.error or '-'}"
        )


@inbox_cli.command("retry")
@click.option(
    "--id",
    "ids",
    type=click.IntRange(1, 2**63 - 1),
    multiple=True,
    help="a failed message's id (repeatable; `fengchao inbox status` lists them)",
)
@click.option("--all-failed", is_flag=True, help="every failed message")
@with_appcontext
def retry(ids: tuple[int, ...], all_failed: bool):
    """Give failed messages back to the inbox job, with a fresh count of tries — once what
    made them fail (storage, WeChat's media download, a bug) is mended.

    Safe: a message fails as a whole (its transaction rolled back), so nothing of it was
    kept and a retry adds it once. It joins the sender's draft of the last 30 minutes or
    starts a new one, and the reply may no longer reach the sender: WeChat lets the account
    answer only within 48 hours of their last message (the draft is kept either way).
    Exits 1 when a named message is not a failed one (unknown, waiting, or done)."""
    from server.reports.models import WeChatInbound

    if not ids and not all_failed:
        raise click.UsageError("name messages with --id, or pass --all-failed")
    targets = list(dict.fromkeys(ids))
    if all_failed:
        targets += list(
            db.session.execute(
                select(WeChatInbound.id)
                .where(WeChatInbound.status == "failed")
                .order_by(WeChatInbound.id)
            ).scalars()
        )
    done = refused = 0
    for row_id in dict.fromkeys(targets):
        won = db.session.execute(
            update(WeChatInbound)
            .where(WeChatInbound.id == row_id, WeChatInbound.status == "failed")
            .values(status="pending", attempts=0, claimed_at=None, error=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if won == 1:
            done += 1
            continue
        refused += 1
        now_status = db.session.execute(
            select(WeChatInbound.status).where(WeChatInbound.id == row_id)
        ).scalar_one_or_none()
        said = "no such message" if now_status is None else f"it is {now_status}, not failed"
        click.echo(f"{row_id}: not requeued: {said}", err=True)
    click.echo(f"requeued {done}" + (f", not requeued {refused}" if refused else ""))
    if done:
        click.echo("the inbox job takes them on its next run (every few seconds)")
    if refused:
        raise SystemExit(1)
