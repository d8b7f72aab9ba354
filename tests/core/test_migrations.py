"""The models and the migrations agree; migrations run from any working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from server import MIGRATIONS_DIR

# SQLite's reflection cannot read an expression index, so on SQLite alembic skips comparing
# this one (both sides), with a warning each; PostgreSQL compares it in full.
SQLITE_EXPRESSION_INDEXES = "ix_notifications_user_inbox"


@pytest.mark.filterwarnings(
    f"ignore:Skipped unsupported reflection of expression-based index {SQLITE_EXPRESSION_INDEXES}"
)
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index "
    f"'{SQLITE_EXPRESSION_INDEXES}'"
)
def test_models_match_migrations(db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"


def test_one_head(app):
    config = app.extensions["migrate"].migrate.get_config(MIGRATIONS_DIR)
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads, merge them: {heads}"


def test_cli_migrates_from_any_directory(tmp_path):
    fengchao = Path(sys.executable).with_name("fengchao")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
    env.update({"FENGCHAO_INSTANCE_DIR": str(tmp_path / "inst"), "FENGCHAO_ENV": "test"})
    result = subprocess.run(
        [str(fengchao), "db", "upgrade", "heads"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "inst" / "fengchao.db").exists()
