"""What a client proves itself with: TLS (the server's CA, a client certificate for mutual
TLS) and bearer tokens, fixed or fetched for every call."""

import inspect
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

AUTHORIZATION_METADATA = "authorization"

PemSource = bytes | str | os.PathLike[str]
"""PEM data as bytes, or the path of a PEM file as a str or a path."""

TokenProvider = Callable[[], str]
"""Returns the bearer token to send; called before every attempt of every call."""

AsyncTokenProvider = Callable[[], str | Awaitable[str]]
"""A TokenProvider that may also be a coroutine function (for the asyncio client)."""


def _pem(source: PemSource | None) -> bytes | None:
    if source is None or isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


@dataclass(frozen=True)
class Tls:
    """A TLS channel: the server's certificate is checked against `ca` (the system's roots
    when None); `cert` and `key`, together, are the client certificate of mutual TLS;
    `server_name` is the name the server's certificate must carry when it is not the
    target's host (say, an IP address or a tunnel). Each of `ca`, `cert` and `key` is PEM
    data (bytes) or the path of a PEM file (str or path), read when the client is built."""

    ca: PemSource | None = None
    cert: PemSource | None = None
    key: PemSource | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("Tls: cert and key go together (the client certificate and its key)")

    def channel_credentials(self) -> grpc.ChannelCredentials:
        """The channel credentials of this configuration, its files read now."""
        return grpc.ssl_channel_credentials(
            root_certificates=_pem(self.ca),
            private_key=_pem(self.key),
            certificate_chain=_pem(self.cert),
        )

    def channel_options(self) -> list[tuple[str, Any]]:
        """The channel options it needs: the server name to check, if it is set."""
        if self.server_name is None:
            return []
        return [("grpc.ssl_target_name_override", self.server_name)]


def channel_settings(
    *,
    tls: Tls | None,
    credentials: grpc.ChannelCredentials | None,
    options: Sequence[tuple[str, Any]],
) -> tuple[grpc.ChannelCredentials | None, list[tuple[str, Any]]]:
    """The credentials (None: plaintext) and options of a client's channel."""
    if tls is not None and credentials is not None:
        raise ValueError("pass tls or credentials, not both")
    if tls is None:
        return credentials, list(options)
    return tls.channel_credentials(), [*options, *tls.channel_options()]


def token_source(token: str | None, provider: Callable[[], Any] | None) -> Callable[[], Any] | None:
    """One provider of `token` (fixed) or `provider`, or None without either."""
    if token is not None and provider is not None:
        raise ValueError("pass token or token_provider, not both")
    if token is not None:
        if not token.strip():
            raise ValueError("token must not be empty")
        return lambda: token
    return provider


def _with_bearer(
    metadata: Iterable[tuple[str, str | bytes]] | None, token: object
) -> tuple[tuple[str, str | bytes], ...]:
    """`metadata` plus `authorization: Bearer <token>`, unless the call sends its own."""
    entries = tuple(metadata or ())
    if any(key == AUTHORIZATION_METADATA for key, _ in entries):
        return entries
    if not isinstance(token, str) or not token.strip():
        raise ValueError(f"the token provider must return a non-empty str, got {token!r}")
    return (*entries, (AUTHORIZATION_METADATA, f"Bearer {token.strip()}"))


class AsyncBearerInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Sends `authorization: Bearer <token>` with every attempt, the token from `provider`
    (a function or a coroutine function) asked each time, so that it can be renewed."""

    def __init__(self, provider: AsyncTokenProvider) -> None:
        self._provider = provider

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Any],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        """Add the header, then go on with the call."""
        token = self._provider()
        if inspect.isawaitable(token):
            token = await token
        details = grpc.aio.ClientCallDetails(
            client_call_details.method,
            client_call_details.timeout,
            grpc.aio.Metadata(*_with_bearer(client_call_details.metadata, token)),
            client_call_details.credentials,
            client_call_details.wait_for_ready,
        )
        return await continuation(details, request)


@dataclass(frozen=True)
class _CallDetails(grpc.ClientCallDetails):
    """A call's details with other metadata (grpc's own class cannot be built)."""

    method: str
    timeout: float | None
    metadata: tuple[tuple[str, str | bytes], ...] | None
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: grpc.Compression | None


class BearerInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Sends `authorization: Bearer <token>` with every attempt, the token from `provider`
    asked each time, so that it can be renewed."""

    def __init__(self, provider: TokenProvider) -> None:
        self._provider = provider

    def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.ClientCallDetails, Any], Any],
        client_call_details: grpc.ClientCallDetails,
        request: Any,
    ) -> Any:
        """Add the header, then go on with the call."""
        token = self._provider()
        if inspect.isawaitable(token):
            if inspect.iscoroutine(token):
                token.close()  # never awaited: no "coroutine was never awaited" warning
            raise TypeError("the synchronous client takes a token provider that is no coroutine")
        details = _CallDetails(
            client_call_details.method,
            client_call_details.timeout,
            _with_bearer(client_call_details.metadata, token),
            client_call_details.credentials,
            client_call_details.wait_for_ready,
            getattr(client_call_details, "compression", None),
        )
        return continuation(details, request)
