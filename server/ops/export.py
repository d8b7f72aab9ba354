"""`fengchao export-community CODE`: one community's data as CSV files in a zip.

Every table with an org unit (`org_unit_id`) or home community (`community_id`) column
is exported for the community's subtree; rows that belong to those (by a foreign key
to an exported row) follow, level by level. Secrets never leave: encrypted columns
(`*_enc`), credential hashes (`*_hash`), and any column marked `info={"export": False}`
(the QR signing secrets); tests/ops/test_export_safety.py fails on a new column named like
a secret that is neither excluded nor listed there as safe. All tables are read from one
snapshot, and the zip is complete or absent (written under a temporary name, renamed).
Text that starts like a spreadsheet formula is written as text (`server/csv_safe.py`):
the files are made for Excel/WPS, and station names, reports and needs are free text.
Times are written as stored: UTC, without an offset (a raw copy, unlike the staff CSVs,
which show Asia/Shanghai time).
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import tempfile
import zipfile
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import Column, ColumnElement, Connection, Table, or_, select

from server.csv_safe import safe_row
from server.db_snapshot import snapshot
from server.extensions import db
from server.org.models import OrgUnit, subtree_ids

SCOPE_COLUMNS = ("org_unit_id", "community_id")
# Never exported, whatever the table: encrypted values and hashes of credentials (a staff
# invitation's code), WeChat's session key. A secret column elsewhere says so itself with
# `info={"export": False}` (a station's or an activity's QR signing secret).
NEVER_EXPORTED_SUFFIXES = ("_enc", "_hash")
NEVER_EXPORTED_NAMES = ("session_key",)


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


def _write_tables(conn: Connection, unit: OrgUnit, archive: zipfile.ZipFile) -> dict[str, int]:
    # Each exported table's rows are chosen by a condition; a table below follows them with
    # `key IN (SELECT …)` (a subquery, never a list of ids: PostgreSQL takes at most 65,535
    # parameters in a statement, a street holds more reports than that).
    unit_ids = subtree_ids(unit)
    chosen: dict[str, ColumnElement[bool]] = {}
    counts: dict[str, int] = {}
    tables = db.metadata.sorted_tables

    def write(table: Table, where: ColumnElement[bool]) -> None:
        columns = _columns(table)
        stmt = (
            select(*columns)
            .where(where)
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
                    writer.writerow(safe_row(row))
                    rows += 1
        chosen[table.name] = where
        counts[table.name] = rows

    for table in tables:
        scope = next((table.c[name] for name in SCOPE_COLUMNS if name in table.c), None)
        if table.name == "org_units":
            write(table, table.c.id.in_(unit_ids))
        elif scope is not None:
            write(table, scope.in_(unit_ids))
    for table in tables:  # children of exported rows (e.g. a report's timeline)
        if table.name in chosen:
            continue
        # every key to an exported row counts (report_events: report_id OR work_order_id);
        # sorted, as Table.foreign_keys is a set whose order changes between processes
        keys = sorted(
            (
                fk
                for fk in table.foreign_keys
                if fk.column.table.name in chosen
                and fk.column.table.name not in ("users", "org_units")
            ),
            key=lambda fk: (fk.parent.name, fk.target_fullname),
        )
        if keys:
            write(
                table,
                or_(
                    *(
                        fk.parent.in_(select(fk.column).where(chosen[fk.column.table.name]))
                        for fk in keys
                    )
                ),
            )
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
