"""A street comes with the default report categories, however it is created (`org-unit add`,
POST /admin/org-units, the demo), in the transaction that creates it; streets created before
that get them from a data migration. Without categories a street's residents get an empty
list and every report is refused (report.unknown_category)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from server import MIGRATIONS_DIR
from server.org.models import OrgUnit
from server.org.services import create_org_unit
from server.reports.categories import DEFAULT_CATEGORIES, categories_for
from server.reports.models import ReportCategory

DEFAULT_CODES = [row[0] for row in DEFAULT_CATEGORIES]
MIGRATION = "24f087c5117d"


def _codes(db, unit_id: int) -> list[str]:
    return list(
        db.session.execute(
            select(ReportCategory.code)
            .where(ReportCategory.street_id == unit_id)
            .order_by(ReportCategory.sort_order)
        ).scalars()
    )


def test_a_street_added_on_the_command_line_has_the_default_categories(app, client, login, db):
    runner = CliRunner()
    for args in (
        ["D-NEW", "新区", "--level", "district"],
        ["ST-NEW", "新街道", "--level", "street", "--parent", "D-NEW"],
        ["C-NEW", "新社区", "--level", "community", "--parent", "ST-NEW"],
    ):
        result = runner.invoke(app.cli, ["org-unit", "add", *args])
        assert result.exit_code == 0, result.output
    units = {u.code: u for u in db.session.execute(select(OrgUnit)).scalars()}
    assert _codes(db, units["ST-NEW"].id) == DEFAULT_CODES
    assert _codes(db, units["D-NEW"].id) == _codes(db, units["C-NEW"].id) == []
    # what a resident of the street's community is offered, and may report with
    resident = login("resident", units["C-NEW"])
    offered = client.get("/api/v1/report-categories", headers=resident).get_json()
    assert [c["code"] for c in offered] == DEFAULT_CODES
    assert [c.code for c in categories_for(units["C-NEW"])] == DEFAULT_CODES


def test_a_street_added_through_the_admin_api_has_the_default_categories(client, login, db, units):
    admin = login("admin", "D")
    response = client.post(
        "/api/v1/admin/org-units",
        json={"code": "T-S3", "name": "测试S3", "level": "street", "parent_id": units["D"].id},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    assert _codes(db, response.get_json()["id"]) == DEFAULT_CODES
    # a community below it gets none of its own: reports take their street's
    street_id = response.get_json()["id"]
    response = client.post(
        "/api/v1/admin/org-units",
        json={"code": "T-S3C", "name": "测试S3C", "level": "community", "parent_id": street_id},
        headers=admin,
    )
    assert response.status_code == 201, response.get_json()
    assert _codes(db, response.get_json()["id"]) == []


def test_the_test_and_demo_trees_get_them_the_same_way(units, db):
    """make_tree and the demo go through create_org_unit, as the CLI and the API do."""
    for key in ("S1", "S2"):
        assert _codes(db, units[key].id) == DEFAULT_CODES
    for key in ("D", "A", "A1", "C"):
        assert _codes(db, units[key].id) == []


def _explode(unit):
    raise RuntimeError("a domain's hook failed")


def test_a_street_is_never_left_without_them(app, db, units, monkeypatch):
    """The hooks run in the transaction that creates the unit: one failing adds nothing."""
    import server

    monkeypatch.setattr(
        server,
        "ORG_UNIT_CREATED",
        [*server.ORG_UNIT_CREATED, "tests.org.test_street_categories._explode"],
    )
    with pytest.raises(RuntimeError):
        create_org_unit("T-S4", "测试S4", "street", units["D"])
    db.session.rollback()
    assert db.session.execute(select(OrgUnit).where(OrgUnit.code == "T-S4")).first() is None
    assert db.session.execute(select(func.count(ReportCategory.id))).scalar() == 2 * len(
        DEFAULT_CODES
    )


def test_the_tree_imports_no_other_domain():
    """Cross-domain effects of a new unit go through server.ORG_UNIT_CREATED, never an
    import of reports (or any other domain) from the tree."""
    domains = ("reports", "stations", "points", "activities", "posts", "needs", "notifications")
    forbidden = tuple(f"server.{domain}" for domain in domains)
    for path in sorted((Path(__file__).parents[2] / "server" / "org").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


def _run_migration(db) -> None:
    path = next(Path(MIGRATIONS_DIR, "versions").glob(f"*_{MIGRATION}_*.py"))
    spec = importlib.util.spec_from_file_location(f"migration_{MIGRATION}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.down_revision == "8e3c5a1d7f42"
    db.session.commit()
    with (
        db.engine.begin() as connection,
        Operations.context(MigrationContext.configure(connection)),
    ):
        module.upgrade()
    db.session.expire_all()


def test_the_migration_gives_streets_without_categories_the_defaults(db, units):
    s1, s2 = units["S1"], units["S2"]
    s3 = create_org_unit("T-S3", "测试S3", "street", units["D"])
    # as installs from before left them: S2 and S3 without any; S1 with a list of its own
    db.session.execute(delete(ReportCategory).where(ReportCategory.street_id.in_([s2.id, s3.id])))
    db.session.execute(
        delete(ReportCategory).where(
            ReportCategory.street_id == s1.id, ReportCategory.code == "noise"
        )
    )
    own = db.session.execute(
        select(ReportCategory).where(ReportCategory.street_id == s1.id)
    ).scalars()
    for category in own:
        category.is_active = category.code != "dumping"
    db.session.commit()
    before = {
        (c.id, c.code, c.is_active)
        for c in db.session.execute(
            select(ReportCategory).where(ReportCategory.street_id == s1.id)
        ).scalars()
    }
    assert _codes(db, s2.id) == _codes(db, s3.id) == []

    _run_migration(db)

    assert _codes(db, s2.id) == _codes(db, s3.id) == DEFAULT_CODES
    assert [c.code for c in categories_for(units["C"])] == DEFAULT_CODES
    after = {
        (c.id, c.code, c.is_active)
        for c in db.session.execute(
            select(ReportCategory).where(ReportCategory.street_id == s1.id)
        ).scalars()
    }
    assert after == before  # a street's own list is left as it is
    for key in ("D", "A", "A1", "C", "C1"):
        assert _codes(db, units[key].id) == []
    count = db.session.execute(select(func.count(ReportCategory.id))).scalar()
    _run_migration(db)  # again: every street has categories now, nothing is added
    assert db.session.execute(select(func.count(ReportCategory.id))).scalar() == count
