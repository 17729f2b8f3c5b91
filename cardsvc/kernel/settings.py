"""The one settings object, read from ``UNIONCARD_*`` environment variables.

Embedded default (no variables set): SQLite and generated keys under the var folder, in-process
stores. Production (``UNIONCARD_ENVIRONMENT=production``): every secret must come from the
environment (or a ``*_FILE`` path) and demo secrets are refused.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from cardsvc.kernel.env import (
    ENV_PREFIX,
    SettingsError,
    parse_data_keys,
    parse_service_sla,
    parse_trusted_proxies,
)
from cardsvc.kernel.env import env_bool as _bool
from cardsvc.kernel.env import env_int as _int
from cardsvc.kernel.env import env_seconds as _seconds
from cardsvc.kernel.env import env_text as _env

KEYFILE_NAME = "keys.json"


def _load_or_create_keyfile(var_dir: Path) -> dict[str, str]:
    """Embedded mode: secrets generated once under var/ with mode 0600."""
    path = var_dir / KEYFILE_NAME
    if path.exists():
        return json.loads(path.read_text())
    var_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "secret_key": secrets.token_urlsafe(48),
        "data_keys": "d1:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "lookup_key": secrets.token_urlsafe(32),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
    return data


def _sender() -> str:
    sender = (_env("SMS_SENDER", "log") or "log").lower()
    if sender not in {"log", "memory"}:
        raise SettingsError(f"{ENV_PREFIX}SMS_SENDER must be log or memory, got {sender!r}")
    return sender


def _budget_stripes() -> int:
    stripes = _int("BUDGET_STRIPES", 1)
    if not 1 <= stripes <= 64:
        raise SettingsError(f"{ENV_PREFIX}BUDGET_STRIPES must be 1–64, got {stripes}")
    return stripes


@dataclass(frozen=True, slots=True)
class Settings:
    environment: str = "development"
    var_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = ""
    data_keys: dict[str, bytes] = field(default_factory=dict)
    lookup_key: bytes = b""
    time_zone: str = "Asia/Shanghai"
    host: str = "127.0.0.1"
    port: int = 8000
    log_format: str = "text"
    log_level: str = "INFO"
    public_url: str = "http://127.0.0.1:8000"
    # The 附近 map's tile layer ({z}/{x}/{y} URL template) and the datum its tiles are drawn
    # in ("gcj02" for maps licensed in mainland China); empty: the list only, no map.
    map_tile_url: str = ""
    map_datum: str = "wgs84"
    # Reverse proxies whose X-Forwarded-For/-Proto are believed (IPs or CIDR networks); none by
    # default, so that a client cannot choose the address its rate limits and audit rows see.
    trusted_proxies: tuple[str, ...] = ()
    db_pool_size: int = 10
    db_pre_ping: bool = False  # test each pooled connection before use (3 round trips on asyncpg)
    # Behind PgBouncer in transaction mode: no prepared-statement caches (PgBouncer < 1.21).
    db_pgbouncer: bool = False
    # Read replicas for reports, exports and read pages (cardsvc/kernel/replicas.py): one
    # lagging more than this is skipped, lag is measured at most this often, and a member's
    # reads stay on the primary this long after a write of theirs.
    database_replica_urls: tuple[str, ...] = ()
    replica_max_lag_seconds: float = 5.0
    replica_check_seconds: float = 1.0
    read_your_writes_seconds: int = 10
    # Staff sign-in throttles, each a list of (attempts, window seconds) tiers: per account
    # from one address, per address, per account from anywhere (cardsvc/staff/throttle.py).
    login_pair_limits: tuple[tuple[int, int], ...] = ((5, 60), (10, 900), (20, 86400))
    login_address_limits: tuple[tuple[int, int], ...] = ((30, 60), (300, 86400))
    login_account_limits: tuple[tuple[int, int], ...] = ((100, 3600),)
    session_max_age: int = 8 * 3600
    secure_cookies: bool = False
    clock_skew_seconds: int = 30
    member_session_max_age: int = 30 * 24 * 3600
    sms_sender: str = "log"
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_per_phone_hour: int = 5
    otp_per_ip_hour: int = 30
    # Join applications per applicant phone (a day) and per address (an hour).
    join_per_phone_day: int = 3
    join_per_ip_hour: int = 20
    # Exact-match member look-ups by ID number or phone, per staff account and hour.
    identity_lookups_per_hour: int = 30
    terminal_rate_limit_per_minute: int = 600
    terminal_auth_cache_seconds: int = 5
    terminal_key_rotation_grace_seconds: int = 0
    reversal_window_seconds: int = 24 * 3600
    static_card_redemptions_per_hour: int = 10
    scan_log_retention_days: int = 90
    scan_log_flush_ms: int = 200  # scan-log rows are written in batches off the request path
    # Privacy: join applications that ended without membership (rejected, withdrawn) are
    # deleted after this many days; the retention job runs every this many hours (0: never).
    application_retention_days: int = 180
    retention_interval_hours: int = 24
    # Notifications, and finished background jobs (with their row errors), are deleted after
    # this many days.
    notification_retention_days: int = 365
    job_retention_days: int = 90
    upload_max_mb: int = 50
    upload_dir: Path | None = None  # None: <var_dir>/uploads
    job_runner: bool = True
    job_poll_ms: int = 1000
    job_heartbeat_seconds: int = 5
    job_stale_seconds: int = 60
    job_max_attempts: int = 3
    roster_max_rows: int = 1_000_000
    roster_batch_size: int = 1000
    # A job attempt running longer than this is stopped and failed (0: no limit); on shutdown a
    # running job gets this long to hand itself back to the queue.
    job_time_limit_seconds: int = 3600
    shutdown_grace_seconds: int = 10
    # Cards: a CJK font file for the printable card (None: the Debian fonts looked for in
    # cardsvc/cards/render.py), token lifetimes, and the published status list's timing.
    cjk_font: str | None = None
    card_token_validity_seconds: int = 60
    card_token_refresh_seconds: int = 30
    card_static_validity_days: int = 3 * 365
    card_status_list_ttl_seconds: int = 300
    card_status_list_valid_seconds: int = 86400
    card_publish_cache_seconds: int = 5
    # Programme-scope counters (budgets) split into this many rows (benefits.engine.counters).
    budget_stripes: int = 1
    # Service requests: SLA defaults per kind ("kind=accept/resolve" hours; staff override per
    # org), attachment limits and folder, the hardship review period, the sweep's interval.
    service_sla: dict[str, tuple[int, int]] = field(default_factory=dict)
    attachment_max_mb: int = 10
    attachment_max_count: int = 6
    attachment_dir: Path | None = None  # None: <var_dir>/attachments
    hardship_review_days: int = 365
    service_sweep_seconds: int = 300
    # Founding a union online: how many founders a group of workers must name at least.
    founding_min_founders: int = 3
    # The benefit counters are reconciled with the ledger every this many minutes (0: never).
    reconcile_interval_minutes: int = 60
    # Monthly partitions (PostgreSQL) are made this many months ahead, every this many hours
    # (0: never; cardsvc.flows.partitions).
    partition_months_ahead: int = 3
    partition_interval_hours: int = 24
    # Activity reminders (a day ahead) are sent by a job run every this many minutes (0: never).
    activity_reminder_minutes: int = 15
    # Expired unused vouchers are lapsed (and their stock returned where the campaign says so)
    # by a job run every this many minutes (0: never); the job also tells members of vouchers
    # expiring within ``voucher_expiry_notice_hours`` and of lottery wins.
    voucher_lapse_minutes: int = 10
    voucher_expiry_notice_hours: int = 24
    # Staff password hashing (argon2id): the cost of new hashes and of the unknown-user dummy
    # check. Defaults are argon2-cffi's (RFC 9106 low-memory profile) and are not read from the
    # environment; only tests lower them, through this object, so that sign-ins are cheap.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # Secrets taken from var/keys.json rather than the environment (embedded/demo).
    demo_secrets: bool = False

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def active_data_key_id(self) -> str:
        return next(iter(self.data_keys))

    @classmethod
    def from_env(cls) -> Settings:
        environment = _environment()
        var_dir = Path(_env("VAR_DIR", "var") or "var").resolve()
        database_url = _database_url(var_dir)
        secret_key, data_keys_raw, lookup_key, demo_secrets = _secrets(environment, var_dir)
        log_format = _log_format()
        validity, refresh = _token_times()
        host = _env("HOST", "127.0.0.1") or "127.0.0.1"
        port = _int("PORT", 8000)
        return cls(
            environment=environment,
            var_dir=var_dir,
            database_url=database_url,
            redis_url=_env("REDIS_URL"),
            secret_key=secret_key,
            data_keys=parse_data_keys(data_keys_raw),
            lookup_key=lookup_key.encode(),
            time_zone=_env("TIME_ZONE", "Asia/Shanghai") or "Asia/Shanghai",
            host=host,
            port=port,
            log_format=log_format,
            log_level=(_env("LOG_LEVEL", "INFO") or "INFO").upper(),
            public_url=_env("PUBLIC_URL", f"http://{host}:{port}") or "",
            map_tile_url=_env("MAP_TILE_URL", "") or "",
            map_datum="gcj02" if _env("MAP_DATUM", "") == "gcj02" else "wgs84",
            trusted_proxies=parse_trusted_proxies(_env("TRUSTED_PROXIES") or ""),
            db_pool_size=_int("DB_POOL_SIZE", 10),
            db_pre_ping=_bool("DB_PRE_PING", False),
            **_replica_settings(),
            **_access_settings(environment),
            **_job_settings(),
            card_token_validity_seconds=validity,
            card_token_refresh_seconds=refresh,
            **_card_and_service_settings(),
            demo_secrets=demo_secrets,
        )


def _environment() -> str:
    environment = (_env("ENVIRONMENT", "development") or "development").lower()
    if environment not in {"development", "production", "test"}:
        raise SettingsError(
            f"{ENV_PREFIX}ENVIRONMENT must be development, production or test, got {environment!r}"
        )
    return environment


def _asyncpg(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    return url


def _database_url(var_dir: Path) -> str:
    return _asyncpg(_env("DATABASE_URL") or f"sqlite+aiosqlite:///{var_dir / 'unioncard.db'}")


def _replica_settings() -> dict[str, Any]:
    """PgBouncer, and the read replicas (``DATABASE_REPLICA_URL``: comma-separated)."""
    urls = tuple(_asyncpg(u.strip()) for u in (_env("DATABASE_REPLICA_URL") or "").split(","))
    return {
        "db_pgbouncer": _bool("DB_PGBOUNCER", False),
        "database_replica_urls": tuple(u for u in urls if u),
        "replica_max_lag_seconds": _seconds("REPLICA_MAX_LAG_SECONDS", 5.0),
        "replica_check_seconds": _seconds("REPLICA_CHECK_SECONDS", 1.0),
        "read_your_writes_seconds": _int("READ_YOUR_WRITES_SECONDS", 10),
    }


def _secrets(environment: str, var_dir: Path) -> tuple[str, str, str, bool]:
    """Secret key, data keys and lookup key, generated in the var folder when not all are
    given (refused in production), and whether they were (``demo_secrets``)."""
    secret_key, data_keys_raw, lookup_key = (
        _env("SECRET_KEY"),
        _env("DATA_KEYS"),
        _env("LOOKUP_KEY"),
    )
    demo_secrets = not (secret_key and data_keys_raw and lookup_key)
    if demo_secrets:
        if environment == "production":
            missing = [
                ENV_PREFIX + n
                for n, v in (
                    ("SECRET_KEY", secret_key),
                    ("DATA_KEYS", data_keys_raw),
                    ("LOOKUP_KEY", lookup_key),
                )
                if not v
            ]
            raise SettingsError(
                "production refuses to start with generated demo secrets; set " + ", ".join(missing)
            )
        generated = _load_or_create_keyfile(var_dir)
        secret_key = secret_key or generated["secret_key"]
        data_keys_raw = data_keys_raw or generated["data_keys"]
        lookup_key = lookup_key or generated["lookup_key"]
    assert secret_key and data_keys_raw and lookup_key
    if environment == "production":
        _check_production_secrets(var_dir, secret_key, data_keys_raw, lookup_key)
    return secret_key, data_keys_raw, lookup_key, demo_secrets


def _check_production_secrets(
    var_dir: Path, secret_key: str, data_keys_raw: str, lookup_key: str
) -> None:
    if len(secret_key) < 32 or len(lookup_key) < 32:
        raise SettingsError(
            f"{ENV_PREFIX}SECRET_KEY and {ENV_PREFIX}LOOKUP_KEY need ≥ 32 characters"
        )
    keyfile = var_dir / KEYFILE_NAME
    if keyfile.exists():
        demo = json.loads(keyfile.read_text())
        demo_keys = set(parse_data_keys(demo["data_keys"]).values())
        if (
            secret_key == demo["secret_key"]
            or lookup_key == demo["lookup_key"]
            or demo_keys & set(parse_data_keys(data_keys_raw).values())
        ):
            raise SettingsError("production refuses the demo secrets from var/keys.json")


def _tiers(name: str, default: str) -> tuple[tuple[int, int], ...]:
    """``limit/seconds[,…]`` → ((limit, seconds), …), each number positive."""
    raw = _env(name, default) or ""
    out: list[tuple[int, int]] = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        limit, _, window = part.partition("/")
        try:
            tier = (int(limit), int(window))
        except ValueError:
            raise SettingsError(f"{ENV_PREFIX}{name}: {part!r} is not limit/seconds") from None
        if tier[0] <= 0 or tier[1] <= 0:
            raise SettingsError(f"{ENV_PREFIX}{name}: {part!r} needs positive numbers")
        out.append(tier)
    return tuple(out)


def _log_format() -> str:
    log_format = (_env("LOG_FORMAT", "text") or "text").lower()
    if log_format not in {"text", "json"}:
        raise SettingsError(f"{ENV_PREFIX}LOG_FORMAT must be text or json")
    return log_format


def _token_times() -> tuple[int, int]:
    """Rotating QR token validity and refresh (seconds)."""
    validity = _int("CARD_TOKEN_VALIDITY_SECONDS", 60)
    refresh = _int("CARD_TOKEN_REFRESH_SECONDS", 30)
    if not 0 < refresh <= validity:
        # A phone that refreshes after its code expired would show a dead code.
        raise SettingsError(
            f"{ENV_PREFIX}CARD_TOKEN_REFRESH_SECONDS must be > 0 and ≤ "
            f"{ENV_PREFIX}CARD_TOKEN_VALIDITY_SECONDS"
        )
    return validity, refresh


def _access_settings(environment: str) -> dict[str, Any]:
    """Sign-in, sessions, one-time codes, terminals, redemptions and retention."""
    return {
        "login_pair_limits": _tiers("LOGIN_PAIR_LIMITS", "5/60,10/900,20/86400"),
        "login_address_limits": _tiers("LOGIN_ADDRESS_LIMITS", "30/60,300/86400"),
        "login_account_limits": _tiers("LOGIN_ACCOUNT_LIMITS", "100/3600"),
        "session_max_age": _int("SESSION_MAX_AGE", 8 * 3600),
        "secure_cookies": _bool("SECURE_COOKIES", environment == "production"),
        "clock_skew_seconds": _int("CLOCK_SKEW_SECONDS", 30),
        "member_session_max_age": _int("MEMBER_SESSION_MAX_AGE", 30 * 24 * 3600),
        "sms_sender": _sender(),
        "otp_ttl_seconds": _int("OTP_TTL_SECONDS", 300),
        "otp_max_attempts": _int("OTP_MAX_ATTEMPTS", 5),
        "otp_per_phone_hour": _int("OTP_PER_PHONE_HOUR", 5),
        "otp_per_ip_hour": _int("OTP_PER_IP_HOUR", 30),
        "join_per_phone_day": _int("JOIN_PER_PHONE_DAY", 3),
        "join_per_ip_hour": _int("JOIN_PER_IP_HOUR", 20),
        "identity_lookups_per_hour": _int("IDENTITY_LOOKUPS_PER_HOUR", 30),
        "terminal_rate_limit_per_minute": _int("TERMINAL_RATE_LIMIT_PER_MINUTE", 600),
        "terminal_auth_cache_seconds": _int("TERMINAL_AUTH_CACHE_SECONDS", 5),
        "terminal_key_rotation_grace_seconds": _int("TERMINAL_KEY_ROTATION_GRACE_SECONDS", 0),
        "reversal_window_seconds": _int("REVERSAL_WINDOW_SECONDS", 24 * 3600),
        "static_card_redemptions_per_hour": _int("STATIC_CARD_REDEMPTIONS_PER_HOUR", 10),
        "scan_log_retention_days": _int("SCAN_LOG_RETENTION_DAYS", 90),
        "scan_log_flush_ms": _int("SCAN_LOG_FLUSH_MS", 200),
        "application_retention_days": _int("APPLICATION_RETENTION_DAYS", 180),
        "retention_interval_hours": _int("RETENTION_INTERVAL_HOURS", 24),
        "notification_retention_days": _int("NOTIFICATION_RETENTION_DAYS", 365),
        "job_retention_days": _int("JOB_RETENTION_DAYS", 90),
    }


def _job_settings() -> dict[str, Any]:
    """Uploads, the background job runner and roster imports."""
    return {
        "upload_max_mb": _int("UPLOAD_MAX_MB", 50),
        "upload_dir": Path(u).resolve() if (u := _env("UPLOAD_DIR")) else None,
        "job_runner": _bool("JOB_RUNNER", True),
        "job_poll_ms": _int("JOB_POLL_MS", 1000),
        "job_heartbeat_seconds": _int("JOB_HEARTBEAT_SECONDS", 5),
        "job_stale_seconds": _int("JOB_STALE_SECONDS", 60),
        "job_max_attempts": _int("JOB_MAX_ATTEMPTS", 3),
        "roster_max_rows": _int("ROSTER_MAX_ROWS", 1_000_000),
        "roster_batch_size": _int("ROSTER_BATCH_SIZE", 1000),
        "job_time_limit_seconds": _int("JOB_TIME_LIMIT_SECONDS", 3600),
        "shutdown_grace_seconds": _int("SHUTDOWN_GRACE_SECONDS", 10),
        "cjk_font": _env("CJK_FONT"),
    }


def _card_and_service_settings() -> dict[str, Any]:
    """Card tokens and published material, budgets, service requests and attachments."""
    return {
        "card_static_validity_days": _int("CARD_STATIC_VALIDITY_DAYS", 3 * 365),
        "card_status_list_ttl_seconds": _int("CARD_STATUS_LIST_TTL_SECONDS", 300),
        "card_status_list_valid_seconds": _int("CARD_STATUS_LIST_VALID_SECONDS", 86400),
        "card_publish_cache_seconds": _int("CARD_PUBLISH_CACHE_SECONDS", 5),
        "budget_stripes": _budget_stripes(),
        "service_sla": parse_service_sla(_env("SERVICE_SLA") or ""),
        "attachment_max_mb": _int("ATTACHMENT_MAX_MB", 10),
        "attachment_max_count": _int("ATTACHMENT_MAX_COUNT", 6),
        "attachment_dir": Path(a).resolve() if (a := _env("ATTACHMENT_DIR")) else None,
        "hardship_review_days": _int("HARDSHIP_REVIEW_DAYS", 365),
        "service_sweep_seconds": _int("SERVICE_SWEEP_SECONDS", 300),
        "founding_min_founders": _int("FOUNDING_MIN_FOUNDERS", 3),
        "reconcile_interval_minutes": _int("RECONCILE_INTERVAL_MINUTES", 60),
        "partition_months_ahead": _int("PARTITION_MONTHS_AHEAD", 3),
        "partition_interval_hours": _int("PARTITION_INTERVAL_HOURS", 24),
        "activity_reminder_minutes": _int("ACTIVITY_REMINDER_MINUTES", 15),
        "voucher_lapse_minutes": _int("VOUCHER_LAPSE_MINUTES", 10),
        "voucher_expiry_notice_hours": _int("VOUCHER_EXPIRY_NOTICE_HOURS", 24),
    }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
