"""Every setting of the platform, read from ``GOVDATA_*`` environment variables.

Numbers that RULES.md calls defaults rather than national rules are settings here.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from govdata.platform.errors import ConfigurationError

__all__ = ["ConfigurationError", "Settings", "get_settings"]


def _date_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVDATA_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./var/govdata.db"
    database_echo: bool = False
    database_busy_timeout_seconds: float = 30.0  # SQLite: how long a web writer queues
    cli_busy_timeout_seconds: float = 600.0  # … and a command (an operator can wait)
    # PostgreSQL streaming replicas for public reads, comma-separated URLs (empty: none)
    database_read_urls: Annotated[list[str], NoDecode] = []

    # Signing keys (PEM). Production needs both configured; elsewhere a key not configured
    # is generated on first start under ``key_dir`` (mode 0600) and reused afterwards.
    key_dir: str = "./var/keys"
    jwt_private_key: str | None = None
    jwt_algorithm: Literal["ES256"] = "ES256"
    token_ttl_seconds: int = 3600
    token_issuer: str = "govdata"
    token_audience: str = "govdata-api"
    checkpoint_private_key: str | None = None

    password_time_cost: int = 3
    password_memory_kib: int = 65536

    holidays: Annotated[list[dt.date], NoDecode] = []
    extra_workdays: Annotated[list[dt.date], NoDecode] = []
    share_reply_working_days: int = 10
    dispute_reply_working_days: int = 5
    catalog_update_working_days: int = 15
    conditional_share_needs_legal_basis: bool = False
    reminder_working_days: int = 2  # remind a department this many working days before
    webhook_timeout_seconds: float = 5.0
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 30.0  # doubled after each failure
    webhook_backoff_max_seconds: float = 3600.0
    worker_poll_seconds: float = 1.0
    worker_reminder_seconds: float = 300.0  # how often the worker looks for deadlines
    audit_seal_seconds: float = 1.0  # how often the worker seals new ledger entries

    upload_max_bytes: int = 1 << 30
    # A version of at least this many rows gets an index on a column when first sorted by
    # it (catalog/datastore/sortindex.py); 0: never.
    datastore_sort_index_min_rows: int = 50_000
    json_body_max_bytes: int = 1 << 20  # every route with a JSON (or form) body
    catalog_import_max_bytes: int = 32 << 20
    upload_dir: str = "./var/uploads"
    seed_dir: str | None = None  # default: the repository's seeds/
    plan_dir: str | None = None  # the plan texts the seeds cite; default: ../shared/seeds
    demo_password: str = "govdata-demo"
    log_level: str = "INFO"

    # The open portal: how it names itself in DCAT and data.json, the absolute address the
    # public reaches it at (default: the address of each request), and its public limits.
    portal_title: str = "政务数据统一开放平台"
    portal_description: str = "政府部门依法向社会开放的政务数据目录: 可检索、预览、查询和下载。"
    portal_publisher: str = "政务数据统一开放平台"
    portal_contact_email: str = "opendata@example.org"  # data.json needs one: set it
    pod_bureau_code: str = "000:00"  # Project Open Data's US OMB codes: none applies
    pod_program_code: str = "000:000"
    public_base_url: str | None = None
    open_default_licence: str = "cc-by-4.0"
    open_overdue_grace_days: int = 0
    usage_flush_seconds: float = 10.0
    rate_limit_per_minute: int = 600
    rate_limit_backend: Literal["auto", "memory", "database", "redis"] = "auto"
    redis_url: str | None = None
    # The portal's people side: public accounts' sign-in sessions, applicants' API keys.
    portal_session_hours: int = 168
    api_key_rate_limit_per_minute: int = 1200
    api_key_max_days: int = 366

    _split_dates = field_validator("holidays", "extra_workdays", mode="before")(_date_list)

    @model_validator(mode="after")
    def _generated_keys(self) -> Settings:
        if self.env == "production":
            return self
        if self.jwt_private_key is None or self.checkpoint_private_key is None:
            from govdata.platform import keys

            directory = Path(self.key_dir)
            if self.jwt_private_key is None:
                self.jwt_private_key = keys.load_or_create(directory, keys.JWT_KEY_FILE, "ec")
            if self.checkpoint_private_key is None:
                self.checkpoint_private_key = keys.load_or_create(
                    directory, keys.CHECKPOINT_KEY_FILE, "ed25519")
        return self

    @field_validator("database_read_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [url.strip() for url in value.split(",") if url.strip()]
        return value

    def check_startable(self) -> None:
        """Refuse a production start without configured signing keys."""
        if self.jwt_private_key is None:
            raise ConfigurationError("生产环境必须配置令牌签名密钥 (set GOVDATA_JWT_PRIVATE_KEY)")
        if self.checkpoint_private_key is None:
            raise ConfigurationError(
                "生产环境必须配置账本检查点密钥 (set GOVDATA_CHECKPOINT_PRIVATE_KEY)")

    def signing_key(self) -> str:
        self.check_startable()
        return self.jwt_private_key

    def checkpoint_key(self) -> str:
        self.check_startable()
        return self.checkpoint_private_key


@lru_cache
def get_settings() -> Settings:
    return Settings()
