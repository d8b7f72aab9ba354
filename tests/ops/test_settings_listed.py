"""Every setting the code and deploy/ read is listed in .env.example, every listed one is read,
and the domain ones reach the app."""

from __future__ import annotations

import re
from pathlib import Path

from server.config import DOMAIN_SETTINGS, load_settings
from server.notifications.config import DEMO_TEMPLATES
from server.ops.limits import DEFAULTS as RATE_LIMITS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
READS = re.compile(
    r"""(?:(?:config|environ|env)\.get\(|(?:config|environ|env)\[|getenv\(|[^.]setting\("""
    r"""|_setting\(|_(?:int|float)\(env,|_(?:int|float)\(|environ\.setdefault\()"""
    r"""\s*["']([A-Z][A-Z0-9_]+)["']"""
)
# deploy/entrypoint.sh: $FENGCHAO_X or ${FENGCHAO_X:-default}
SHELL_READS = re.compile(r"\$\{?(FENGCHAO_[A-Z0-9_]+)")
# deploy/docker-compose.yml: ${X}, ${X:-default}, ${X:?message} (from deploy/.env)
COMPOSE_READS = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:[:?+-][^}]*)?\}")
# Config keys that are not operator settings: derived at start, Flask's or a library's own,
# or the sandbox's (a development tool with its own command line).
INTERNAL = {
    "INSTANCE_DIR",
    "SQLALCHEMY_DATABASE_URI",  # from DATABASE_URL
    "REDISLITE_PATH",
    "RATELIMIT_STORAGE_URI",
    "RATELIMIT_KEY_PREFIX",
    "SANDBOX_PUBLISHED_PAGES",
    "SANDBOX_TEMPLATES",
    "TESTING",
    # set by systemd for a unit with WatchdogSec= (server/notifications/worker.py), not by
    # an operator
    "NOTIFY_SOCKET",
    "WATCHDOG_USEC",
    "WATCHDOG_PID",
}


def _listed() -> set[str]:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, flags=re.MULTILINE))


def _read_by_the_code() -> set[str]:
    names = set()
    for path in (ROOT / "server").rglob("*.py"):
        if "sandbox" in path.parts or "migrations" in path.parts:
            continue
        names.update(READS.findall(path.read_text(encoding="utf-8")))
    return names - INTERNAL


def _read_by_deploy() -> set[str]:
    names = set(READS.findall((DEPLOY / "gunicorn.conf.py").read_text(encoding="utf-8")))
    names.update(SHELL_READS.findall((DEPLOY / "entrypoint.sh").read_text(encoding="utf-8")))
    names.update(COMPOSE_READS.findall((DEPLOY / "docker-compose.yml").read_text(encoding="utf-8")))
    return names


# Read by prefix: RATE_LIMIT_<NAME> (server/ops/limits.py), WECHAT_TEMPLATE_<KIND>
# (server/notifications/config.py).
READ_BY_PREFIX = {f"RATE_LIMIT_{name}" for name in RATE_LIMITS} | {
    f"WECHAT_TEMPLATE_{kind.upper()}" for kind in DEMO_TEMPLATES
}


def test_every_setting_read_is_listed_in_env_example():
    missing = _read_by_the_code() - _listed()
    assert not missing, f"add to .env.example (with a comment and the default): {missing}"


def test_every_setting_deploy_reads_is_listed_in_env_example():
    read = _read_by_deploy()
    # the scans find what they are meant to (a broken pattern would find nothing)
    assert {"GUNICORN_KEEPALIVE", "FENGCHAO_MIGRATE_ON_START", "POSTGRES_PASSWORD"} <= read
    missing = read - _listed()
    assert not missing, f"add to .env.example (with a comment and the default): {missing}"


def test_every_setting_listed_is_read():
    unread = _listed() - _read_by_the_code() - _read_by_deploy() - READ_BY_PREFIX
    assert not unread, f"listed in .env.example but read nowhere in server/ or deploy/: {unread}"


def test_rate_limits_and_domain_settings_are_listed():
    listed = _listed()
    assert {f"RATE_LIMIT_{name}" for name in RATE_LIMITS} <= listed
    assert set(DOMAIN_SETTINGS) <= listed


def test_domain_settings_come_from_the_environment(tmp_path):
    env = {
        "CHECKIN_RATE_PER_MINUTE": "4",
        "CHECKIN_MAX_ACCURACY_M": "80.5",
        "POSTER_FONT_PATH": "/fonts/x.ttc",
        "UPLOAD_MAX_BYTES": "1000",
    }
    settings = load_settings(str(tmp_path), env)
    assert settings["CHECKIN_RATE_PER_MINUTE"] == 4
    assert settings["CHECKIN_MAX_ACCURACY_M"] == 80.5
    assert settings["POSTER_FONT_PATH"] == "/fonts/x.ttc"
    assert settings["UPLOAD_MAX_BYTES"] == 1000
    # unset: absent, so each domain's own default applies
    assert "REDEMPTION_EXPIRY_DAYS" not in load_settings(str(tmp_path), {})


def test_a_malformed_number_is_refused_at_start(tmp_path):
    import pytest

    from server.config import ConfigError

    with pytest.raises(ConfigError, match="POSTS_MAX_PER_RIDER"):
        load_settings(str(tmp_path), {"POSTS_MAX_PER_RIDER": "two"})
