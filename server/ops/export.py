"""`fengchao export-community CODE`: one community's data as CSV files in a zip.

A unit's data, for its subtree (`_conditions`):
- the org units, and every row with an org unit (`org_unit_id`) or home community
  (`community_id`) in the subtree;
- a report and its work order as one case, the unit's when either is: a report filed to
  the street and dispatched into the community comes with its work order;
- rows that belong to those (by a foreign key to an exported row), level by level: a
  report's timeline (whichever of its keys leads there), followers, WeChat messages; and
  the photos' metadata (uploads attached to an exported report, event, need or activity);
- the people and report categories any exported row names (reporter, assignee,
  dispatcher, an event's actor, an upload's owner), wherever they live.
Other units are named by id only (the street that dispatched, a home community elsewhere).

Secrets never leave: encrypted columns (`*_enc`, phone numbers among them), credential
hashes (`*_hash`), and any column marked `info={"export": False}` (the QR signing
secrets); tests/ops/test_export_safety.py fails on a new column named like a secret that
is neither excluded nor listed there as safe. All tables are read from one snapshot, and
the zip is complete or absent (written under a temporary name, renamed).
Text that starts like a spreadsheet formula is written as text (`server/csv_safe.py`):
the files are made for Excel/WPS, and station names, reports and needs are free text.
JSON columns are written as JSON (UTF-8, keys sorted). Times are written as stored: UTC,
without an offset (a raw copy, unlike the staff CSVs, which show Asia/Shanghai time).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext
from sqlalchemy import JSON, Column, ColumnElement, Connection, Table, and_, or_, select, union

from server.csv_safe import safe_cell
from server.db_snapshot import snapshot
from server.extensions import db
from server.org.models import OrgUnit, subtree_ids

SCOPE_COLUMNS = ("org_unit_id", "community_id")
# Never exported, whatever the table: encrypted values and hashes of credentials (a staff
# invitation's code), WeChat's session key. A secret column elsewhere says so itself with
# `info={"export": False}` (a station's or an activity's QR signing secret).
NEVER_EXPORTED_SUFFIXES = ("_enc", "_hash")
NEVER_EXPORTED_NAMES = ("session_key",)
# Rows exported because an exported row names them, not for being the unit's: people (a
# report's reporter, a work order's assignee and dispatcher, an event's actor, wherever
# they live) and report categories (the street's). Nothing follows from them.
REFERENCED = ("users", "report_categories")
# What an upload (a photo's metadata) may be attached to: `ref_type` -> table.
UPLOAD_REFS = {
    "report": "reports",
    "report_event": "report_events",
    "activity_cover": "activities",
    "need": "needs",
}


def exported(column: Column) -> bool:
    """Whether a column's values may leave in an export."""
    return (
        column.info.get("export", True)
        and not column.name.endswith(NEVER_EXPORTED_SUFFIXES)
        and column.name not in NEVER_EXPORTED_NAMES
    )


def _columns(table: Table) -> list[Column]:
    return [c for c in table.columns if exported(c)]


def export_community(unit: OrgUnit, out: Path) -> dict[str, int]:
    """Write `out` (a zip) whole or not at all; returns rows per table.

    The archive is written beside `out` under a temporary name and renamed over `out` once
    complete: an export that fails or is interrupted leaves no archive that looks whole
    (nor replaces the previous one). It is readable by its owner only (personal data).
    """
    descriptor, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    try:
        with (
            os.fdopen(descriptor, "wb") as file,
            zipfile.ZipFile(file, "w", zipfile.ZIP_DEFLATED) as archive,
            snapshot() as conn,  # one view of the data: no event without its report
        ):
            counts = _write_tables(conn, unit, archive)
        os.replace(temporary, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return counts


def _conditions(unit: OrgUnit) -> dict[str, ColumnElement[bool]]:
    """Which rows of each exported table are the unit's, as SQL conditions.

    Each is `key IN (SELECT …)` over the conditions before it (a subquery, never a list of
    ids: PostgreSQL takes at most 65,535 parameters in a statement, a street holds more
    reports than that); the subtree is one CTE, so a statement carries a handful of
    parameters however many conditions it nests.
    """
    tables = db.metadata.tables
    units = subtree_ids(unit).cte("export_units")
    in_subtree = select(units.c.id)
    where: dict[str, ColumnElement[bool]] = {}
    # 1. rows of the subtree: its org units, rows with an org unit or home community in it
    for table in db.metadata.sorted_tables:
        scope = next((table.c[name] for name in SCOPE_COLUMNS if name in table.c), None)
        if table.name == "org_units":
            where[table.name] = table.c.id.in_(in_subtree)
        elif scope is not None and table.name not in REFERENCED:
            where[table.name] = scope.in_(in_subtree)
    # 2. a report and its work order are one case, the unit's when either is in the subtree:
    # a report filed to the street and dispatched into the community is the community's
    reports, orders = tables["reports"], tables["work_orders"]
    filed, held = where["reports"], where["work_orders"]
    where["reports"] = reports.c.id.in_(
        union(select(reports.c.id).where(filed), select(orders.c.report_id).where(held))
    )
    where["work_orders"] = orders.c.report_id.in_(select(reports.c.id).where(where["reports"]))
    # 3. rows that belong to those (a report's timeline, followers), level by level; every
    # key to an exported row counts (report_events: report_id OR work_order_id), sorted, as
    # Table.foreign_keys is a set whose order changes between processes
    for table in db.metadata.sorted_tables:
        if table.name in where or table.name in REFERENCED:
            continue
        keys = sorted(
            (
                fk
                for fk in table.foreign_keys
                if fk.column.table.name in where
                and fk.column.table.name not in ("org_units", *REFERENCED)
            ),
            key=lambda fk: (fk.parent.name, fk.target_fullname),
        )
        if keys:
            where[table.name] = or_(
                *(
                    fk.parent.in_(select(fk.column).where(where[fk.column.table.name]))
                    for fk in keys
                )
            )
    # 4. the photos' metadata (an upload names what it is attached to, without a key)
    uploads = tables["uploads"]
    where["uploads"] = or_(
        *(
            and_(
                uploads.c.ref_type == ref_type,
                uploads.c.ref_id.in_(select(tables[name].c.id).where(where[name])),
            )
            for ref_type, name in sorted(UPLOAD_REFS.items())
        )
    )
    # 5. the people and categories those rows name: a report's reporter, a work order's
    # assignee and dispatcher, an event's actor (people: without their phone or secrets)
    for name in REFERENCED:
        target = tables[name]
        pointers = sorted(
            (
                fk
                for source in db.metadata.sorted_tables
                if source.name in where and source.name not in REFERENCED
                for fk in source.foreign_keys
                if fk.column.table is target
            ),
            key=lambda fk: (fk.parent.table.name, fk.parent.name),
        )
        scope = next((target.c[n] for n in SCOPE_COLUMNS if n in target.c), None)
        own = [select(target.c.id).where(scope.in_(in_subtree))] if scope is not None else []
        # one `IN (… UNION …)`, not an OR of many: PostgreSQL makes it one semi-join
        where[name] = target.c.id.in_(
            union(*own, *(select(fk.parent).where(where[fk.parent.table.name]) for fk in pointers))
        )
    return where


def _cell(column: Column, value: Any) -> Any:
    if value is not None and isinstance(column.type, JSON):
        # JSON as JSON (not Python's repr): it starts with { [ " a digit, -, t, f or n, never
        # like a formula (a bare negative number is a number to a spreadsheet)
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return safe_cell(value)


def _write_tables(conn: Connection, unit: OrgUnit, archive: zipfile.ZipFile) -> dict[str, int]:
    where = _conditions(unit)
    counts: dict[str, int] = {}
    for table in db.metadata.sorted_tables:
        if table.name not in where:
            continue
        columns = _columns(table)
        stmt = (
            select(*columns)
            .where(where[table.name])
            .order_by(*table.primary_key.columns)
            .execution_options(yield_per=2000)
        )
        rows = 0
        with (
            archive.open(f"{table.name}.csv", "w", force_zip64=True) as raw,
            io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text,  # Excel: a BOM
        ):
            writer = csv.writer(text)
            writer.writerow([c.name for c in columns])
            with conn.execute(stmt) as result:  # closed (its server-side cursor) on failure
                for row in result:
                    writer.writerow([_cell(c, v) for c, v in zip(columns, row, strict=True)])
                    rows += 1
        counts[table.name] = rows
    return counts


@click.command("export-community")
@click.argument("code")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the zip to write (default: <code>-export.zip); replaced only once complete",
)
@with_appcontext
def export_community_command(code: str, out: Path | None):
    """Export a community's (or any unit's) data as CSV files in a zip."""
    from server.errors import DomainError
    from server.org.services import unit_by_code

    out = out or Path(f"{code}-export.zip")
    if not out.parent.is_dir():
        raise click.ClickException(f"cannot write {out}: there is no folder {out.parent}")
    try:
        unit = unit_by_code(code)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    try:
        counts = export_community(unit, out)
    except OSError as exc:  # the folder is not writable, the disk is full
        raise click.ClickException(f"cannot write {out}: {exc.strerror or exc}") from None
    for name, count in counts.items():
        click.echo(f"{name:28} {count}")
    click.echo(str(out))
