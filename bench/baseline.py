"""pgbench scripts of exactly the SQL the service runs for a call.

The statements are captured by running the servicer itself, over a Database that records what
its repositories send, with the very request the load generator sends. Placeholders become
pgbench variables holding the recorded values, so `pgbench -M prepared` prepares the same
statement text with the same parameters; the only differences are noted where they are made.
"""

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import grpc
from finance.v1 import account_service_pb2, transaction_service_pb2

from bench.recording import Statement, record
from service.api.account_servicer import AccountServicer
from service.api.page_tokens import PageTokens
from service.api.transaction_servicer import TransactionServicer
from service.db.database import Database
from service.db.unit_of_work import UnitOfWork
from service.domain.clock import utc_today
from service.services.accounts import AccountService
from service.services.ledger import LedgerService

# Servicers run here only to record their SQL; page tokens they sign are not read back.
TOKENS = PageTokens.with_random_key()

_PLACEHOLDER = re.compile(r"\$(\d+)\b")
# A fresh id per pgbench transaction, where the service uses a new uuid4 (pgbench has no string
# functions, so it is a random integer, sent as text like the uuid).
TRANSACTION_ID_VARIABLE = "tid"
_NEW_TRANSACTION_ID = f"\\set {TRANSACTION_ID_VARIABLE} random(1, 9000000000000000000)"


@dataclass(frozen=True)
class Script:
    """A pgbench script and the -D variables it reads."""

    text: str
    variables: dict[str, str]


class _Context:
    """The little of a servicer context the recorded RPCs use."""

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return ()


def servicer_context() -> Any:
    """A stand-in for the context gRPC passes to servicer methods (no request metadata)."""
    return cast(grpc.aio.ServicerContext[Any, Any], _Context())


def as_text(value: object) -> str:
    """A value as the text PostgreSQL parses for a parameter of the recorded statement."""
    if isinstance(value, list | tuple):
        items = ("NULL" if v is None else '"' + _element(v) + '"' for v in value)
        return "{" + ",".join(items) + "}"
    return _element(value)


def _element(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | Decimal | UUID):
        text = str(value)
        return text.replace("\\", "\\\\").replace('"', '\\"') if isinstance(value, str) else text
    raise TypeError(f"no pgbench form for {type(value).__name__}")


def _render(
    statement: Statement, number: int, fresh_id: str | None, variables: dict[str, str]
) -> str:
    """The statement with each $n replaced by a pgbench variable (added to `variables`)."""

    def placeholder(match: re.Match[str]) -> str:
        value = statement.args[int(match[1]) - 1]
        if value is None:
            return "NULL"
        if value == "":
            return "''"
        if fresh_id is not None and value == fresh_id:
            return f":{TRANSACTION_ID_VARIABLE}"
        name = f"s{number}p{match[1]}"
        variables[name] = value if isinstance(value, str) else as_text(value)
        return f":{name}"

    return _PLACEHOLDER.sub(placeholder, statement.sql.strip().rstrip(";")) + ";"


def to_script(statements: list[Statement], *, fresh_id: str | None = None) -> Script:
    """A pgbench script of `statements`. NULL and empty-string arguments are written as
    literals in the text (a pgbench variable can hold neither); arguments equal to `fresh_id`
    become a new random id per run."""
    variables: dict[str, str] = {}
    lines = [_NEW_TRANSACTION_ID] if fresh_id is not None else []
    for number, statement in enumerate(statements, start=1):
        lines.append(_render(statement, number, fresh_id, variables))
    return Script("\n".join(lines) + "\n", variables)


async def get_account_script(database: Database, body: bytes) -> Script:
    """GetAccount: the account's SELECT by primary key."""
    request = account_service_pb2.GetAccountRequest.FromString(body)

    async def rpc(db: Database) -> object:
        servicer = AccountServicer(
            AccountService(UnitOfWork(db), today=utc_today), page_tokens=TOKENS
        )
        return await servicer.GetAccount(request, servicer_context())

    return to_script(await record(database, rpc))


async def list_transactions_script(database: Database, body: bytes) -> Script:
    """ListTransactions: the page SELECT, then the SELECT of the page's postings."""
    request = transaction_service_pb2.ListTransactionsRequest.FromString(body)

    async def rpc(db: Database) -> object:
        return await TransactionServicer(
            LedgerService(UnitOfWork(db)), page_tokens=TOKENS
        ).ListTransactions(request, servicer_context())

    return to_script(await record(database, rpc))


async def create_transaction_script(database: Database, body: bytes) -> Script:
    """CreateTransaction without request_id: BEGIN, user check, account locks in key order,
    INSERT transaction, INSERT postings, UPDATE balances, INSERT audit event, COMMIT."""
    request = transaction_service_pb2.CreateTransactionRequest.FromString(body)
    created: list[str] = []

    async def rpc(db: Database) -> object:
        reply = await TransactionServicer(
            LedgerService(UnitOfWork(db)), page_tokens=TOKENS
        ).CreateTransaction(request, servicer_context())
        created.append(reply.name.rsplit("/", 1)[1])
        return reply

    statements = await record(database, rpc)
    return to_script(statements, fresh_id=created[0])


def describe(script: Script) -> str:
    """The script with its variables, for the record."""
    return script.text + json.dumps(script.variables, indent=1)[:2000]
