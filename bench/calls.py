"""The four RPCs under load: their request bodies (one per lane), and a check of a real answer
to each body before the load, since h2load itself does not read grpc-status."""

from collections.abc import Callable
from dataclasses import dataclass

import grpc
from finance.v1 import account_service_pb2, transaction_service_pb2
from google.type import money_pb2
from grpc_health.v1 import health_pb2

from bench.seed import CURRENCY, SeededUser
from service.api.dates import to_proto_date
from service.domain.clock import utc_today

PAGE_SIZE = 50
TRANSFER_CENTS = 100


@dataclass(frozen=True)
class Call:
    """An RPC as the load generators send it: every client of lane i sends `lanes[i]`."""

    name: str
    path: str
    lanes: tuple[bytes, ...]
    check: Callable[[bytes], None]
    writes: bool = False


def frame(message: bytes) -> bytes:
    """A gRPC length-prefixed message: uncompressed flag, 4-byte big-endian length, body."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def _check_account(name: str) -> Callable[[bytes], None]:
    def check(payload: bytes) -> None:
        account = account_service_pb2.Account.FromString(payload)
        assert account.name == name, f"GetAccount returned {account.name!r}"

    return check


def _check_page(payload: bytes) -> None:
    page = transaction_service_pb2.ListTransactionsResponse.FromString(payload)
    assert len(page.transactions) == PAGE_SIZE, f"page of {len(page.transactions)}"
    assert page.next_page_token, "no next page token"
    assert all(len(t.postings) == 2 for t in page.transactions), "postings missing"


def _check_created(payload: bytes) -> None:
    created = transaction_service_pb2.Transaction.FromString(payload)
    assert created.state == transaction_service_pb2.Transaction.STATE_POSTED, created.state
    assert len(created.postings) == 2, "expected two postings"


def _check_serving(payload: bytes) -> None:
    status = health_pb2.HealthCheckResponse.FromString(payload).status
    assert status == health_pb2.HealthCheckResponse.SERVING, status


def _money(cents: int) -> money_pb2.Money:
    return money_pb2.Money(
        currency_code=CURRENCY, units=cents // 100, nanos=(cents % 100) * 10_000_000
    )


def transfer_request(user: SeededUser) -> bytes:
    """CreateTransaction moving 1.00 EUR from the user's checking to savings account, with no
    request_id, so that every call writes."""
    checking = f"users/{user.user_id}/accounts/{user.checking}"
    savings = f"users/{user.user_id}/accounts/{user.savings}"
    request = transaction_service_pb2.CreateTransactionRequest(
        parent=f"users/{user.user_id}",
        transaction=transaction_service_pb2.Transaction(
            booking_date=to_proto_date(utc_today()),
            description="bench transfer",
            postings=[
                transaction_service_pb2.Posting(account=checking, amount=_money(-TRANSFER_CENTS)),
                transaction_service_pb2.Posting(account=savings, amount=_money(TRANSFER_CENTS)),
            ],
        ),
    )
    return request.SerializeToString()


def build_calls(big: SeededUser, writers: list[SeededUser]) -> list[Call]:
    """The no-op ceiling, GetAccount and ListTransactions of the big user, and
    CreateTransaction with one lane (one small user's two accounts) per writer."""
    account = f"users/{big.user_id}/accounts/{big.checking}"
    get = account_service_pb2.GetAccountRequest(name=account)
    page = transaction_service_pb2.ListTransactionsRequest(
        parent=f"users/{big.user_id}", page_size=PAGE_SIZE
    )
    return [
        Call(
            "Health/Check (no-op)",
            "/grpc.health.v1.Health/Check",
            (health_pb2.HealthCheckRequest().SerializeToString(),),
            _check_serving,
        ),
        Call(
            "GetAccount",
            "/finance.v1.AccountService/GetAccount",
            (get.SerializeToString(),),
            _check_account(account),
        ),
        Call(
            "ListTransactions",
            "/finance.v1.TransactionService/ListTransactions",
            (page.SerializeToString(),),
            _check_page,
        ),
        Call(
            "CreateTransaction",
            "/finance.v1.TransactionService/CreateTransaction",
            tuple(transfer_request(u) for u in writers),
            _check_created,
            writes=True,
        ),
    ]


async def sample(address: str, call: Call) -> list[int]:
    """Send each lane's body once through a real gRPC client; check the answer is OK and
    right, and return the size of each answer's message."""
    sizes = []
    async with grpc.aio.insecure_channel(address) as channel:
        method: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(call.path)
        for body in call.lanes:
            payload = await method(body, timeout=10)
            call.check(payload)
            sizes.append(len(payload))
    return sizes
