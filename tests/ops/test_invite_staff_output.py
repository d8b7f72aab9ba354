"""`fengchao invite-staff` says when the code expires as the API does: Asia/Shanghai, +08:00."""

from __future__ import annotations

import datetime as dt

from click.testing import CliRunner

from server import clock


def test_invitation_expiry_is_printed_in_shanghai_time_with_its_offset(app, units):
    clock.freeze(dt.datetime(2026, 3, 1, 20, 30))  # UTC: 04:30 the next day in Shanghai
    result = CliRunner().invoke(
        app.cli, ["invite-staff", "--org-unit", "T-S1", "--role", "street_admin"]
    )
    assert result.exit_code == 0, result.output
    hours = app.config["INVITATION_TTL_HOURS"]
    until = dt.datetime(2026, 3, 2, 4, 30) + dt.timedelta(hours=hours)
    assert f"valid until {until:%Y-%m-%d %H:%M}+08:00 (Asia/Shanghai" in result.output
    assert "UTC" not in result.output
