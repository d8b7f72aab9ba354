"""`fengchao export-community CODE`: one community's data as CSV files in a zip.

Every table with an org unit (`org_unit_id`) or home community (`community_id`) column
is exported for the community's subtree; rows that belong to those (by a foreign key
to an exported row) follow one level down. Encrypted columns (`*_enc`) never leave.
Text that starts like a spreadsheet formula is written as text (`server/csv_safe.py`):
the files are made for Excel/WPS, and station names, reports and needs are free text.
Times are written as stored: UTC, without an offset (a raw copy, unlike the staff CSVs,
which show Asia/Shanghai time).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import Table, or_, select

from server.csv_safe import safe_row
from server.extensions import db
from server.org.models import OrgUnit, subtree_ids

SCOPE_COLUMNS = ("org_unit_id", "community_id")


def _columns(table: Table):
    return [c for c in table.columns if not c.name.endswith("_enc") and c.name != "session_key"]


def export_community(unit: OrgUnit, out: Path) -> dict[str, int]:
    """Write `out` (a zip); returns rows per table."""
    unit_ids = subtree_ids(unit)
    exported: dict[str, list] = {}
    counts: dict[str, int] = {}
    tables = db.metadata.sorted_tables
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:

        def write(table: Table, rows) -> None:
            buffer = io.StringIO()
            buffer.write("\ufeff")  # Excel opens UTF-8 Chinese with a BOM
            writer = csv.writer(buffer)
            columns = _columns(table)
            writer.writerow([c.name for c in columns])
            ids = []
            for row in rows:
                writer.writerow(safe_row(getattr(row, c.name) for c in columns))
                if "id" in table.c:
                    ids.append(row.id)
            archive.writestr(f"{table.name}.csv", buffer.getvalue())
            exported[table.name] = ids
            counts[table.name] = len(ids) if "id" in table.c else 0

        for table in tables:
            scope = next((table.c[name] for name in SCOPE_COLUMNS if name in table.c), None)
            if table.name == "org_units":
                write(
                    table,
                    db.session.execute(select(*_columns(table)).where(table.c.id.in_(unit_ids))),
                )
            elif scope is not None:
                write(
                    table, db.session.execute(select(*_columns(table)).where(scope.in_(unit_ids)))
                )
        for table in tables:  # children of exported rows (e.g. a report's timeline)
            if table.name in exported:
                continue
            # every key to an exported row counts (report_events: report_id OR work_order_id);
            # sorted, as Table.foreign_keys is a set whose order changes between processes
            keys = sorted(
                (
                    fk
                    for fk in table.foreign_keys
                    if fk.column.table.name in exported
                    and fk.column.table.name not in ("users", "org_units")
                ),
                key=lambda fk: (fk.parent.name, fk.target_fullname),
            )
            if keys:
                belongs = or_(*(fk.parent.in_(exported[fk.column.table.name]) for fk in keys))
                write(table, db.session.execute(select(*_columns(table)).where(belongs)))
    return counts


@click.command("export-community")
@click.argument("code")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the zip to write (default: <code>-export.zip)",
)
@with_appcontext
def export_community_command(code: str, out: Path | None):
    """Export a community's (or any unit's) data as CSV files in a zip."""
    from server.errors import DomainError
    from server.org.services import unit_by_code

    try:
        unit = unit_by_code(code)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    out = out or Path(f"{code}-export.zip")
    counts = export_community(unit, out)
    for name, count in counts.items():
        click.echo(f"{name:28} {count}")
    click.echo(str(out))
