"""Service configuration, read from FINANCE_TRACKER_* environment variables and a .env file."""

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """Where the embedded PostgreSQL keeps its data: a per-user, persistent directory."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "finance-tracker"


class Settings(BaseSettings):
    """Everything the server can be configured with; built once at the entry point."""

    model_config = SettingsConfigDict(
        env_prefix="FINANCE_TRACKER_",
        env_file=".env",
        extra="ignore",
        frozen=True,
    )

    host: str = Field(default="0.0.0.0", description="Address the gRPC server binds to.")  # noqa: S104
    port: int = Field(default=50051, ge=0, le=65535, description="gRPC port; 0 picks a free one.")
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://...); when unset, an embedded one is started.",
    )
    data_dir: Path = Field(
        default_factory=default_data_dir, description="Data directory of the embedded PostgreSQL."
    )
    db_pool_min_size: int = Field(default=2, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    db_statement_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Upper bound for any one SQL statement."
    )
    shutdown_grace_seconds: float = Field(
        default=10.0, ge=0, description="How long in-flight RPCs may run on after SIGTERM."
    )
    health_check_interval_seconds: float = Field(default=2.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        # Unix-socket URLs (postgresql:///db?host=/run/postgresql) have no host, so pydantic's
        # PostgresDsn would reject them; only the scheme is checked here, asyncpg does the rest.
        if value is None or value == "":
            return None
        if urlsplit(value).scheme not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL")
        return value

    @property
    def address(self) -> str:
        """The host:port the server listens on."""
        return f"{self.host}:{self.port}"
