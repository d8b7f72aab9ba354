"""`fengchao export-community`: one community's rows, nothing of others, no secrets."""

from __future__ import annotations

import csv
import io
import zipfile

from click.testing import CliRunner

from server.auth.models import User
from tests.factories import make_station


def _read(archive: zipfile.ZipFile, name: str) -> list[dict]:
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_export_holds_the_subtree_only(app, db, units, login, client, tmp_path):
    make_station(units["A1"], name="甲站")
    make_station(units["B1"], name="乙站")
    rider = login("rider", "A")
    client.post("/api/v1/me/phone", json={"code": "sandbox-phone:13812341234:1"}, headers=rider)
    login("rider", "B")
    out = tmp_path / "a.zip"
    result = CliRunner().invoke(app.cli, ["export-community", "T-A", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        stations = _read(archive, "stations.csv")
        assert [s["name"] for s in stations] == ["甲站"]
        users = _read(archive, "users.csv")
        assert [int(u["id"]) for u in users] == [rider.user_id]
        assert "phone_enc" not in users[0] and "session_key_enc" not in users[0]
        assert users[0]["phone_masked"] == "138****1234"
        units_csv = {u["code"] for u in _read(archive, "org_units.csv")}
        assert units_csv == {"T-A", "T-A1", "T-A2"}
        everything = b"".join(archive.read(n) for n in archive.namelist())
    assert b"13812341234" not in everything
    assert db.session.get(User, rider.user_id).phone_enc  # stored, just never exported


def test_formula_like_text_is_exported_as_text(app, units, tmp_path):
    make_station(units["A1"], name='=HYPERLINK("http://x","甲站")')
    out = tmp_path / "a.zip"
    result = CliRunner().invoke(app.cli, ["export-community", "T-A", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        assert [s["name"] for s in _read(archive, "stations.csv")] == [
            '\'=HYPERLINK("http://x","甲站")'
        ]


def test_unknown_code_fails_clearly(app):
    result = CliRunner().invoke(app.cli, ["export-community", "NOPE"])
    assert result.exit_code != 0
    assert "NOPE" in result.output
