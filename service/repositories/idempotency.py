"""Request ids (AIP-155): the claim a write makes on its request_id, and the fingerprint that
tells a retry from a different request."""

import dataclasses
import hashlib
import json
import uuid

import asyncpg

from service.domain.errors import FieldViolation, InvalidArgument, NotFound
from service.domain.keys import UserKey

_CLAIM = """
INSERT INTO idempotency_keys (user_id, request_id, method, request_hash, result_id)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (user_id, request_id) DO NOTHING
RETURNING 1
"""

_CLAIMED = """
SELECT method, request_hash, result_id FROM idempotency_keys
WHERE user_id = $1 AND request_id = $2
"""


def fingerprint(*parts: object) -> bytes:
    """A digest of what a request asked for, to tell a retry from a different request."""
    plain = [
        dataclasses.asdict(p) if dataclasses.is_dataclass(p) and not isinstance(p, type) else p
        for p in parts
    ]
    return hashlib.sha256(json.dumps(plain, sort_keys=True, default=str).encode()).digest()


def request_id_reused() -> InvalidArgument:
    """The error for a request_id already used by a different request."""
    return InvalidArgument(
        [FieldViolation("request_id", "was already used by a different request; use a new one")]
    )


class IdempotencyRepository:
    """The request ids the owner's writes claimed, with the id of what each returned."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def claim(
        self,
        owner: UserKey,
        *,
        request_id: uuid.UUID,
        method: str,
        request_hash: bytes,
        result_id: str,
    ) -> str | None:
        """Claim `request_id` for this request. Returns None when newly claimed, or the result
        id of the earlier identical request. Raises InvalidArgument for a reuse by another
        request, NotFound if the owner does not exist."""
        try:
            claimed = await self._connection.fetchval(
                _CLAIM, owner.user_id, request_id, method, request_hash, result_id
            )
        except asyncpg.ForeignKeyViolationError:
            raise NotFound(owner) from None
        if claimed:
            return None
        row = await self._connection.fetchrow(_CLAIMED, owner.user_id, request_id)
        assert row is not None  # ON CONFLICT waited for the claim to commit
        if row["method"] != method or row["request_hash"] != request_hash:
            raise request_id_reused()
        earlier: str = row["result_id"]
        return earlier
