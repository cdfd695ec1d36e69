"""Service configuration, read from FINANCE_TRACKER_* environment variables and a .env file."""

import os
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "FINANCE_TRACKER_"


def default_data_dir() -> Path:
    """Where the embedded PostgreSQL keeps its data: a per-user, persistent directory."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "finance-tracker"


class Settings(BaseSettings):
    """Everything the server can be configured with; built once at the entry point."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        # Unknown FINANCE_TRACKER_* keys of .env (typos) are errors; see _OwnDotEnvKeys.
        extra="forbid",
        frozen=True,
    )

    host: str = Field(default="0.0.0.0", description="Address the gRPC server binds to.")  # noqa: S104
    port: int = Field(default=50051, ge=0, le=65535, description="gRPC port; 0 picks a free one.")
    reuse_port: bool = Field(
        default=False,
        description="Let several server processes share the port (SO_REUSEPORT); otherwise a"
        " port in use is an error.",
    )
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
    db_prepared_statements: bool = Field(
        default=True,
        description="False behind a pooler in transaction mode (PgBouncer before 1.21): no named"
        " prepared statements, and statement_timeout left to the database role.",
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

    @model_validator(mode="after")
    def _pool_sizes(self) -> Self:
        if self.db_pool_min_size > self.db_pool_max_size:
            raise ValueError(
                f"{ENV_PREFIX}DB_POOL_MIN_SIZE ({self.db_pool_min_size}) must not be greater"
                f" than {ENV_PREFIX}DB_POOL_MAX_SIZE ({self.db_pool_max_size})"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The usual sources, with .env read by _OwnDotEnvKeys."""
        assert isinstance(dotenv_settings, DotEnvSettingsSource)
        dotenv = _OwnDotEnvKeys(settings_cls, dotenv_settings)
        return init_settings, env_settings, dotenv, file_secret_settings

    @property
    def address(self) -> str:
        """The host:port the server listens on."""
        return f"{self.host}:{self.port}"


class _OwnDotEnvKeys(PydanticBaseSettingsSource):
    """The .env file, but only its FINANCE_TRACKER_* keys: the others belong to other tools.

    A prefixed key that names no setting is passed on as well, so that `extra="forbid"` rejects
    it instead of a typo going unnoticed.
    """

    def __init__(self, settings_cls: type[BaseSettings], dotenv: DotEnvSettingsSource) -> None:
        super().__init__(settings_cls)
        self._dotenv = dotenv

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """Unused: __call__ reads the whole file at once."""
        return self._dotenv.get_field_value(field, field_name)

    def __call__(self) -> dict[str, Any]:
        fields = self.settings_cls.model_fields
        values = {name: value for name, value in self._dotenv().items() if name in fields}
        prefix = ENV_PREFIX.lower()  # keys are case-insensitive, and read in lower case
        for key, value in self._dotenv.env_vars.items():
            name = key.lower().removeprefix(prefix)
            if key.lower().startswith(prefix) and name not in fields:
                values[name] = value
        return values
