"""Authentication: who a call comes from, by its client certificate or its bearer token.

One mode at a time (settings.auth): `none` (local development: every caller is an anonymous
administrator), `mtls` (the client certificate's identity is the principal) or `jwt` (the
token's subject is the principal, and the client certificate's identity, when the server
asks for one, is kept as the calling service).
"""

import asyncio
import json
import logging
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import grpc
import jwt

from service.domain.access import ANONYMOUS, Principal
from service.domain.errors import Unauthenticated, Unavailable
from service.settings import Settings

log = logging.getLogger(__name__)

AUTHORIZATION_METADATA = "authorization"

Context = grpc.aio.ServicerContext[Any, Any]


class Authenticator(Protocol):
    """Finds the principal of a call, or raises Unauthenticated saying why there is none."""

    async def authenticate(self, context: Context) -> Principal:
        """The principal of the call `context` belongs to."""
        ...


def peer_identity(auth_context: Mapping[str, Iterable[bytes]]) -> str | None:
    """The identity of the client certificate of a TLS connection: its URI subject alternative
    name (a SPIFFE id, say), or else its subject (`CN=billing,O=...`); None without one."""
    for key in ("peer_uri", "x509_subject"):
        for value in auth_context.get(key, ()):
            return value.decode()
    return None


class NoAuthentication:
    """Every caller is the anonymous administrator: for local development only."""

    async def authenticate(self, context: Context) -> Principal:  # noqa: ARG002
        """ANONYMOUS, whoever calls."""
        return ANONYMOUS


class CertificateAuthentication:
    """The client certificate's identity is the principal; the TLS handshake has checked the
    certificate against the client CA already. `admins` may act on any user."""

    def __init__(self, admins: Iterable[str]) -> None:
        self._admins = frozenset(admins)

    async def authenticate(self, context: Context) -> Principal:
        """The principal named by the peer's certificate."""
        identity = peer_identity(context.auth_context())
        if identity is None:
            raise Unauthenticated("a client certificate is required")
        return Principal(subject=identity, service=identity, admin=identity in self._admins)


class KeySet:
    """The public keys tokens are signed with, from a JWKS file or URL, by key id. A token
    signed by a key not seen yet reloads the set (keys rotate), at most once every
    `min_refresh_seconds`, so that made-up key ids cannot hammer the key server."""

    def __init__(
        self,
        load: Callable[[], dict[str, Any]],
        *,
        min_refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._min_refresh = min_refresh_seconds
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_file(cls, path: Path, *, min_refresh_seconds: float) -> "KeySet":
        """Keys read from a JWKS file."""
        return cls(
            lambda: json.loads(path.read_text(encoding="utf-8")),
            min_refresh_seconds=min_refresh_seconds,
        )

    @classmethod
    def from_url(cls, url: str, *, min_refresh_seconds: float) -> "KeySet":
        """Keys fetched from a JWKS URL."""

        def fetch() -> dict[str, Any]:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (settings)
                document: dict[str, Any] = json.load(response)
                return document

        return cls(fetch, min_refresh_seconds=min_refresh_seconds)

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The key of `kid`, reloading the set once if it is unknown; None if it stays so.
        Raises Unavailable when the keys cannot be loaded at all."""
        if kid not in self._keys:
            async with self._lock:
                due = self._loaded_at is None or (
                    self._clock() - self._loaded_at >= self._min_refresh
                )
                if kid not in self._keys and due:
                    await self._reload()
        return self._keys.get(kid)

    async def _reload(self) -> None:
        try:
            document = await asyncio.to_thread(self._load)
            keys = {
                entry["kid"]: jwt.PyJWK(entry)
                for entry in document.get("keys", ())
                if isinstance(entry, dict) and "kid" in entry
            }
        except (OSError, ValueError, KeyError, jwt.PyJWKError) as error:
            log.warning("cannot load the token signing keys: %s", error)
            if not self._keys:
                raise Unavailable("the token signing keys cannot be loaded; retry") from error
            return
        finally:
            self._loaded_at = self._clock()
        self._keys = keys


class TokenVerifier:
    """Checks a JWT: a listed algorithm, a known key, its signature, issuer, audience,
    expiry and not-before (with `leeway` seconds of clock skew), and a subject."""

    def __init__(
        self,
        keys: KeySet,
        *,
        issuer: str,
        audience: str,
        algorithms: Sequence[str],
        leeway: float,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._algorithms = list(algorithms)
        self._leeway = leeway

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of `token`. Raises Unauthenticated saying what is wrong with it."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise Unauthenticated("the bearer token is not a JWT") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in self._algorithms:
            raise Unauthenticated(f"the token's algorithm {algorithm!r} is not accepted")
        if not isinstance(kid, str):
            raise Unauthenticated("the token names no signing key (kid)")
        key = await self._keys.key(kid)
        if key is None:
            raise Unauthenticated("the token is signed by an unknown key")
        if key.algorithm_name != algorithm:
            raise Unauthenticated("the token's algorithm does not match its key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("the token is not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("the token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("the token is from another issuer") from None
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"the token has no {error.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("the token's signature is invalid") from None
        except jwt.InvalidTokenError as error:
            raise Unauthenticated(f"the token is invalid: {error}") from None
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise Unauthenticated("the token's subject is empty")
        return claims


def bearer_token(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """The token of the call's `authorization: Bearer ...` metadata; Unauthenticated
    without one."""
    for key, value in metadata or ():
        if key == AUTHORIZATION_METADATA and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise Unauthenticated("the authorization metadata must be `Bearer <token>`")
    raise Unauthenticated("a bearer token is required in the authorization metadata")


def _scopes(claims: Mapping[str, Any]) -> set[str]:
    """The token's scopes: a space-separated `scope` (RFC 8693) or a list in `scp`."""
    scope = claims.get("scope")
    found = set(scope.split()) if isinstance(scope, str) else set()
    scp = claims.get("scp")
    if isinstance(scp, list):
        found.update(s for s in scp if isinstance(s, str))
    return found


class TokenAuthentication:
    """The bearer token's subject is the principal; a token with `admin_scope` may act on
    any user. The client certificate's identity, if the connection has one, is the calling
    service."""

    def __init__(self, verifier: TokenVerifier, *, admin_scope: str) -> None:
        self._verifier = verifier
        self._admin_scope = admin_scope

    async def authenticate(self, context: Context) -> Principal:
        """The principal the call's token names."""
        claims = await self._verifier.verify(bearer_token(context.invocation_metadata()))
        return Principal(
            subject=claims["sub"],
            service=peer_identity(context.auth_context()),
            admin=self._admin_scope in _scopes(claims),
        )


def authenticator(settings: Settings) -> Authenticator:
    """The authenticator of the configured mode."""
    match settings.auth:
        case "mtls":
            return CertificateAuthentication(settings.admin_identities)
        case "jwt":
            refresh = settings.jwks_refresh_seconds
            if settings.jwt_jwks_file is not None:
                keys = KeySet.from_file(settings.jwt_jwks_file, min_refresh_seconds=refresh)
            else:
                assert settings.jwt_jwks_url is not None
                keys = KeySet.from_url(settings.jwt_jwks_url, min_refresh_seconds=refresh)
            assert settings.jwt_issuer is not None
            assert settings.jwt_audience is not None
            verifier = TokenVerifier(
                keys,
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                algorithms=settings.jwt_algorithms,
                leeway=settings.jwt_leeway_seconds,
            )
            return TokenAuthentication(verifier, admin_scope=settings.jwt_admin_scope)
    return NoAuthentication()


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials of the server, when it has a certificate; with a client CA, every
    client must present a certificate of that CA (checked, expiry included, at the
    handshake)."""
    if settings.tls_cert_file is None or settings.tls_key_file is None:
        return None
    client_ca = settings.tls_client_ca_file
    return grpc.ssl_server_credentials(
        [(settings.tls_key_file.read_bytes(), settings.tls_cert_file.read_bytes())],
        root_certificates=None if client_ca is None else client_ca.read_bytes(),
        require_client_auth=client_ca is not None,
    )
