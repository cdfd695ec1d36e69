"""Page tokens (AIP-158): opaque to callers, signed by the service so that none can be forged
or altered, and bound to the request that asked for the page."""

import base64
import hashlib
import hmac
import json
import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from service.api.bad_request import BadRequest
from service.domain.listing import Cursor

# Far above the longest token this service issues (a few sort keys of at most a few hundred
# characters each), and small enough that checking a forged one costs little.
MAX_PAGE_TOKEN_LENGTH = 16384
# Bytes of HMAC-SHA256 kept in a token: 128 bits, beyond guessing.
_MAC_BYTES = 16


class PageTokens:
    """Issues and reads page tokens under one secret key; servers that share the key (every
    replica over one database) accept each other's tokens."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError(f"a page token key needs at least 16 bytes, got {len(key)}")
        self._key = key

    @classmethod
    def with_random_key(cls) -> "PageTokens":
        """Tokens only this process accepts (for one server on its own, and tests)."""
        return cls(secrets.token_bytes(32))

    def issue(self, cursor: Cursor, binding: str) -> str:
        """The token of the page that starts after `cursor`, for requests of `binding`."""
        payload = json.dumps({"b": binding, "c": [_encode(v) for v in cursor]}).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def read(self, token: str, binding: str) -> Cursor | None:
        """The cursor of a token this service issued for `binding`; None for an empty token.
        Raises BadRequest on `page_token` for anything else."""
        if not token:
            return None
        payload = self._verified(token)
        try:
            content = json.loads(payload)
            values = tuple(_decode(v) for v in content["c"])
            bound = content["b"]
        except Exception:
            # Signed by this service, so only an older format of its own can get here.
            raise _not_issued() from None
        if bound != binding:
            raise BadRequest.single(
                "page_token", "was issued for a request with another parent, filter or order_by"
            )
        return values

    def _verified(self, token: str) -> bytes:
        if len(token) > MAX_PAGE_TOKEN_LENGTH or token.count(".") != 1:
            raise _not_issued()
        encoded_payload, encoded_mac = token.split(".")
        try:
            payload, mac = _unb64(encoded_payload), _unb64(encoded_mac)
        except ValueError:
            raise _not_issued() from None
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise _not_issued()
        return payload

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _not_issued() -> BadRequest:
    return BadRequest.single("page_token", "is not a page token this service issued")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())
    except (ValueError, UnicodeEncodeError) as error:
        raise ValueError("not base64") from error


def _encode(value: object) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    if isinstance(value, str | int):
        return value
    raise TypeError(f"cannot put {type(value).__name__} in a page token")


def _decode(value: Any) -> object:
    if isinstance(value, dict) and "t" in value:
        return datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and "d" in value:
        return date.fromisoformat(value["d"])
    if isinstance(value, dict) and "n" in value:
        return Decimal(value["n"])
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL character in page token")
    if isinstance(value, str | int):
        return value
    raise ValueError("unexpected value in page token")
