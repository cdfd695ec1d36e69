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

MIB = 1024 * 1024


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

    host: str | None = Field(
        default=None,
        description="Address the gRPC server binds to; by default 127.0.0.1 without"
        " authentication (FINANCE_TRACKER_AUTH=none) and 0.0.0.0 with it.",
    )
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
    recurring_interval_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How often the server records the due occurrences of recurring"
        " transactions (each once, whatever the number of servers); 0 turns it off.",
    )
    max_concurrent_rpcs: int = Field(
        default=100,
        ge=0,
        description="The most finance RPCs one server process handles at once; one more is"
        " answered RESOURCE_EXHAUSTED with a RetryInfo at once. Health checks and reflection"
        " are not counted. 0: no limit.",
    )
    rate_limit_per_second: float | None = Field(
        default=None,
        gt=0,
        description="Calls per second each principal may make to one server process, on"
        " average (a token bucket); a call past it is answered RESOURCE_EXHAUSTED with a"
        " RetryInfo saying when the next one may come. Unset: no rate limit.",
    )
    rate_limit_burst: int | None = Field(
        default=None,
        ge=1,
        description="How many calls a principal may make at once after a pause (the bucket's"
        " size); by default one second's worth of rate_limit_per_second.",
    )
    max_receive_message_bytes: int = Field(
        default=4 * MIB,
        ge=MIB,
        description="The largest request message the server accepts; a larger one is answered"
        " RESOURCE_EXHAUSTED by gRPC itself.",
    )
    max_send_message_bytes: int = Field(
        # Pages of List responses are cut at 3 MiB of items (service/api/pagination.py); 4 MiB
        # leaves room for the rest of a response and is what a gRPC client takes by default.
        default=4 * MIB,
        ge=4 * MIB,
        description="The largest response message the server sends (at least 4 MiB: a List"
        " page holds up to 3 MiB of items).",
    )
    auth: Literal["none", "mtls", "jwt"] = Field(
        default="none",
        description="How callers are authenticated: `none` (local development only: every"
        " caller is an anonymous administrator), `mtls` (client certificates; the certificate's"
        " identity is the principal) or `jwt` (bearer tokens; their subject is the principal).",
    )
    tls_cert_file: Path | None = Field(
        default=None, description="PEM server certificate (chain): the server speaks TLS."
    )
    tls_key_file: Path | None = Field(default=None, description="PEM key of tls_cert_file.")
    tls_client_ca_file: Path | None = Field(
        default=None,
        description="PEM CA certificates client certificates must chain to; when set, every"
        " client must present one (mutual TLS). Required with auth=mtls.",
    )
    admin_identities: list[str] = Field(
        default_factory=list,
        description="Client certificate identities (auth=mtls) that may act on any user, as a"
        ' JSON list: ["spiffe://example.org/back-office"].',
    )
    jwt_issuer: str | None = Field(default=None, description="The `iss` every token must have.")
    jwt_audience: str | None = Field(
        default=None, description="The `aud` every token must include."
    )
    jwt_jwks_file: Path | None = Field(
        default=None, description="A JWKS file of the keys tokens are signed with."
    )
    jwt_jwks_url: str | None = Field(
        default=None, description="A JWKS URL of the keys tokens are signed with."
    )
    jwt_algorithms: list[str] = Field(
        default_factory=lambda: ["RS256", "ES256", "EdDSA"],
        description="Signature algorithms a token may use (asymmetric ones only).",
    )
    jwt_admin_scope: str = Field(
        default="finance.admin",
        description="The scope that marks a trusted back-office caller, which may act on any user.",
    )
    jwt_leeway_seconds: float = Field(
        default=30.0, ge=0, description="Clock skew allowed on `exp` and `nbf`."
    )
    jwks_refresh_seconds: float = Field(
        default=30.0,
        ge=0,
        description="The least time between two reloads of the JWKS, which a token signed by"
        " an unknown key (`kid`) triggers.",
    )
    reflection: bool = Field(
        default=True, description="Serve gRPC reflection (grpcurl list/describe)."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Port of the Prometheus metrics endpoint (HTTP, on the same host as gRPC);"
        " unset serves no metrics, 0 picks a free port.",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/gRPC collector to send traces to (http://collector:4317; https:// for"
        " TLS); unset traces nothing.",
    )

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

    @field_validator("jwt_algorithms")
    @classmethod
    def _asymmetric_algorithms(cls, value: list[str]) -> list[str]:
        # A shared-secret algorithm next to public keys is how HS/RS confusion starts, and
        # `none` signs nothing.
        refused = [a for a in value if a.lower() == "none" or a.upper().startswith("HS")]
        if refused or not value:
            raise ValueError(
                f"must list asymmetric algorithms only (RS*, PS*, ES*, EdDSA); refused: {refused}"
            )
        return value

    @model_validator(mode="after")
    def _authentication(self) -> Self:
        problems = []
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            problems.append("TLS_CERT_FILE and TLS_KEY_FILE go together")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            problems.append("TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE")
        if self.auth == "mtls" and self.tls_client_ca_file is None:
            problems.append("AUTH=mtls needs TLS_CERT_FILE, TLS_KEY_FILE and TLS_CLIENT_CA_FILE")
        if self.auth == "jwt":
            if not self.jwt_issuer or not self.jwt_audience:
                problems.append("AUTH=jwt needs JWT_ISSUER and JWT_AUDIENCE")
            if (self.jwt_jwks_file is None) == (self.jwt_jwks_url is None):
                problems.append("AUTH=jwt needs one of JWT_JWKS_FILE and JWT_JWKS_URL")
        if problems:
            raise ValueError("; ".join(f"{ENV_PREFIX}{p}" for p in problems))
        return self

    @field_validator("otlp_endpoint")
    @classmethod
    def _otlp_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL (http://collector:4317)")
        return value

    @model_validator(mode="after")
    def _metrics_port_apart(self) -> Self:
        if self.metrics_port and self.metrics_port == self.port:
            raise ValueError(
                f"{ENV_PREFIX}METRICS_PORT ({self.metrics_port}) must not be {ENV_PREFIX}PORT,"
                " which gRPC listens on"
            )
        return self

    @model_validator(mode="after")
    def _burst_needs_a_rate(self) -> Self:
        if self.rate_limit_burst is not None and self.rate_limit_per_second is None:
            raise ValueError(
                f"{ENV_PREFIX}RATE_LIMIT_BURST needs {ENV_PREFIX}RATE_LIMIT_PER_SECOND"
            )
        return self

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
    def bind_host(self) -> str:
        """The address to bind: the configured one, or loopback only while nobody is
        authenticated."""
        if self.host is not None:
            return self.host
        return "127.0.0.1" if self.auth == "none" else "0.0.0.0"  # noqa: S104

    @property
    def address(self) -> str:
        """The host:port the server listens on."""
        return f"{self.bind_host}:{self.port}"


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
