""".env.example as an operator uses it: every line uncommented as written works, a value that
cannot work refuses to start with one line naming it (server/config.py, gunicorn.conf.py),
and the docs name what the code runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from server.config import ConfigError, load_settings
from server.notifications.config import DEMO_TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
VENV_BIN = Path(sys.executable).parent
ASSIGNMENT = re.compile(r"^#? ?([A-Z][A-Z0-9_]+)=(.*)$", re.MULTILINE)
# what an operator once got by uncommenting `# RATE_LIMIT_PHONE=… (per user; …)`
PHONE_WITH_NOTE = "5/minute;20/day            (per user; WeChat bills each phone lookup)"


def _example() -> dict[str, str]:
    """Every setting of .env.example with the value written there, commented or not."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return dict(ASSIGNMENT.findall(text))


def test_nothing_follows_a_value_in_env_example():
    """systemd's EnvironmentFile (and the app) read a value to the end of its line: a note
    after it became part of the value (a rate limit off, gunicorn crashing at start)."""
    written_after = {name: value for name, value in _example().items() if re.search(r"\s", value)}
    assert not written_after, f"put these notes on a line of their own: {written_after}"


def test_env_example_uncommented_as_written_is_accepted(tmp_path):
    env = {**_example(), "FENGCHAO_INSTANCE_DIR": str(tmp_path)}
    assert env["RATE_LIMIT_PHONE"] and env["GUNICORN_MAX_REQUESTS_JITTER"]
    for name in ("development", "production"):
        try:
            load_settings(str(tmp_path), {**env, "FENGCHAO_ENV": name})
        except ConfigError as exc:  # pragma: no cover - the failure's message
            pytest.fail(f"{name}: {exc.problems}")


@pytest.mark.parametrize("fengchao_env", ["development", "production"])
def test_an_unreadable_rate_limit_is_refused_at_start(tmp_path, fengchao_env):
    """Flask-Limiter only logged "couldn't parse rate limit string" on every call, and the
    limit was off (phone lookups are billed by WeChat)."""
    env = {
        "FENGCHAO_ENV": fengchao_env,
        "RATE_LIMIT_PHONE": PHONE_WITH_NOTE,
        "RATE_LIMIT_LOGIN": "10 per minute",  # the limits library's other notation
        "RATE_LIMIT_UPLOAD": "",  # empty: the default
        "RATE_LIMIT_REPORT": "5/fortnight",
    }
    with pytest.raises(ConfigError) as info:
        load_settings(str(tmp_path), env)
    assert info.value.problems == [
        "RATE_LIMIT_PHONE is not a rate limit (e.g. 10/minute or 5/minute;20/day, nothing else "
        f"on the line), got {PHONE_WITH_NOTE!r}",
        "RATE_LIMIT_REPORT is not a rate limit (e.g. 10/minute or 5/minute;20/day, nothing else "
        "on the line), got '5/fortnight'",
    ]


def test_every_rate_limit_notation_the_defaults_use_is_accepted(tmp_path):
    from server.ops.limits import DEFAULTS

    env = {f"RATE_LIMIT_{name}": value for name, value in DEFAULTS.items()}
    load_settings(str(tmp_path), {**env, "RATE_LIMIT_CALLBACK": "600/minute, 10000/hour"})


def _gunicorn_config(env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "gunicorn"), "-c", str(DEPLOY / "gunicorn.conf.py"), "--print-config",
         "server:create_app()"],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "FENGCHAO_ENV": "test", "FENGCHAO_RUN_DIR": str(tmp_path),
             "FENGCHAO_INSTANCE_DIR": str(tmp_path), **env},
    )  # fmt: skip


def test_gunicorn_names_a_bad_number_in_one_line(tmp_path):
    """It crashed with a ValueError traceback from inside gunicorn's config loader."""
    value = "10000  (default: half of GUNICORN_MAX_REQUESTS)"
    result = _gunicorn_config({"GUNICORN_MAX_REQUESTS_JITTER": value}, tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "gunicorn.conf.py: GUNICORN_MAX_REQUESTS_JITTER must be a whole number (nothing else "
        f"on the line), got {value!r}"
    )


def test_gunicorn_takes_env_example_values_as_written(tmp_path):
    written = {k: v for k, v in _example().items() if k.startswith("GUNICORN_")}
    assert "GUNICORN_MAX_REQUESTS_JITTER" in written
    written.pop("GUNICORN_WORKER_TMP_DIR", None)  # /dev/shm need not exist here
    result = _gunicorn_config(written, tmp_path)
    assert result.returncode == 0, result.stderr
    jitter = written["GUNICORN_MAX_REQUESTS_JITTER"]
    assert re.search(rf"^max_requests_jitter\s*= {jitter}$", result.stdout, re.MULTILINE)


def test_every_message_template_setting_is_listed_with_its_message():
    """Production without templates sends no WeChat message at all: each kind's setting is
    in .env.example, right below a line saying which message it is for."""
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for kind in DEMO_TEMPLATES:
        setting = f"# WECHAT_TEMPLATE_{kind.upper()}="
        assert setting in lines, f"list {setting} in .env.example"
        above = lines[lines.index(setting) - 1]
        assert above.startswith("# ") and "=" not in above, (setting, above)


# A phrase for each periodic job, as README.md and the scheduler's unit name it.
JOB_NAMES = {
    "auto_sign_out": "auto sign-out",
    "send_reminders": "reminders",
    "expire_redemptions": "redemption expiry",
    "rebuild_rankings": "rankings rebuild hourly",
    "sweep_outbox": "outbox sweep",
    "scan_overdue": "overdue scan",
    "request_media_checks": "photo checks",
    "recheck_pending_reports": "report text recheck",
    "process_wechat_inbox": "WeChat inbox",
}


def test_the_docs_name_every_periodic_job():
    from server import PERIODIC_JOBS

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| `fengchao scheduler`"))
    unit = (DEPLOY / "systemd" / "fengchao-scheduler.service").read_text(encoding="utf-8")
    comment = " ".join(line.lstrip("# ") for line in unit.split("[Unit]", 1)[0].splitlines())
    for path, _every in PERIODIC_JOBS:
        name = path.rsplit(".", 1)[1]
        assert name in JOB_NAMES, f"name the new periodic job {path} in README.md and the unit"
        assert JOB_NAMES[name] in row, (name, row)
        assert JOB_NAMES[name] in comment, (name, comment)
    assert "not on a timer" not in comment
