"""Every RPC of every finance.v1 service, fuzzed with requests built from its descriptors:
whatever a caller sends, the answer is a status the API promises (never INTERNAL or UNKNOWN),
it shows nothing of another user's, another user's books stay as they were, and the ledger
still verifies.

Each RPC is fuzzed over books of a fuzzing user of its own, opened again whenever a call
deletes that user (DeleteUser with force), so that every RPC's examples have books to act on.

The default run has a fixed seed and a few examples per RPC; FINANCE_TRACKER_FUZZ_EXAMPLES=2000
runs that many per RPC, from a new seed each time (a failure prints how to reproduce it).
"""

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from finance.v1 import audit_service_pb2_grpc as audit_grpc
from finance.v1 import user_service_pb2 as upb
from google.protobuf import text_format
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.db.database import Database
from service.db.unit_of_work import UnitOfWork
from service.services.ledger import LedgerService
from tests.fuzz_books import Books, open_books, pools, secrets
from tests.fuzz_calls import Answer, call, page_tokens
from tests.fuzz_requests import Requests, methods
from tests.fuzz_values import actor_metadata, wire_change
from tests.resources import Clients
from tests.tenancy import snapshot

EXAMPLES_VARIABLE = "FINANCE_TRACKER_FUZZ_EXAMPLES"
DEFAULT_EXAMPLES = 25
_examples = os.environ.get(EXAMPLES_VARIABLE)
FUZZ = settings(
    max_examples=int(_examples) if _examples else DEFAULT_EXAMPLES,
    derandomize=_examples is None,
    database=None,
    deadline=None,
    print_blob=True,
    # One caller's books serve all examples of an RPC: opening them for each would cost more
    # than the calls.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

Code = grpc.StatusCode
ALLOWED = {
    Code.OK,
    Code.INVALID_ARGUMENT,
    Code.NOT_FOUND,
    Code.ALREADY_EXISTS,
    Code.FAILED_PRECONDITION,
    Code.ABORTED,
    Code.OUT_OF_RANGE,
    Code.RESOURCE_EXHAUSTED,
}
# The user directory lists every user: its answers may show the other user's own record (name,
# display name, e-mail), though nothing under it.
DIRECTORY = {"finance.v1.UserService.ListUsers"}
METHODS = methods()
SAFETY_NET = "request: a value is malformed or out of range"


@dataclass(frozen=True)
class Stranger:
    """Another user, whose books no request of the fuzzer's may read or change."""

    books: Books
    user_marker: str  # in the user's display name and e-mail
    page_tokens: dict[str, list[str]]
    before: list[Any]


async def _state(c: Clients, audit: "audit_grpc.AuditServiceAsyncStub", user: str) -> list[Any]:
    return [await c.users.GetUser(upb.GetUserRequest(name=user)), *await snapshot(c, audit, user)]


@pytest.fixture(scope="module")
async def stranger(channel, clients, audit) -> Stranger:
    # Markers no strategy draws by chance: 128 random bits each.
    marker, user_marker = (f"Qz{uuid.uuid4().hex}" for _ in range(2))
    user = upb.User(display_name=f"{user_marker} user", email=f"{user_marker}@example.org")
    user_id = f"other-{uuid.uuid4().hex[:12]}"
    books = await open_books(clients, audit, marker, user, user_id)
    tokens = await page_tokens(channel, books.user.name)
    return Stranger(books, user_marker, tokens, await _state(clients, audit, books.user.name))


class Fuzzer:
    """The caller's side: its books, opened again whenever a call deletes its user, and the
    requests drawn from them."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        clients: Clients,
        audit: "audit_grpc.AuditServiceAsyncStub",
        stranger: Stranger,
    ) -> None:
        self.channel, self.clients, self.audit = channel, clients, audit
        self.stranger = stranger

    async def open(self) -> None:
        """New books for the caller, and requests over them."""
        user = upb.User(display_name="Fuzz user", email="fuzz@example.org")
        self.books = await open_books(self.clients, self.audit, "Fuzz", user)
        tokens = await page_tokens(self.channel, self.books.user.name)
        self.requests = Requests(
            pools(self.books, self.stranger.books, tokens, self.stranger.page_tokens)
        )

    def leaks(self, method: MethodDescriptor, request: Message, answer: Answer) -> list[str]:
        """The other user's secrets in `answer` that `request` did not send itself."""
        directory = method.full_name in DIRECTORY
        forbidden = secrets(self.stranger.books, with_user=not directory)
        if not directory:
            forbidden.add(self.stranger.user_marker)
        sent = request.SerializeToString()
        return sorted(s for s in forbidden if s.encode() not in sent and s.encode() in answer.sent)


@pytest.fixture
async def fuzzer(channel, clients, audit, stranger, database: Database):
    fuzzer = Fuzzer(channel, clients, audit, stranger)
    await fuzzer.open()
    yield fuzzer
    after = await _state(clients, audit, stranger.books.user.name)
    assert after == stranger.before, "another user's books changed"
    assert await LedgerService(UnitOfWork(database)).verify() == []


def _describe(method: MethodDescriptor, request: Message, answer: Answer) -> str:
    shown = text_format.MessageToString(request, as_utf8=True)
    if len(shown) > 3000:
        shown = shown[:3000] + "…"
    return f"{method.full_name} answered {answer.code.name} {answer.details!r} to\n{shown}"


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.full_name)
@FUZZ
@given(data=st.data())
async def test_any_request_gets_a_promised_status_and_nothing_of_another_user(fuzzer, method, data):
    request = data.draw(fuzzer.requests.of(method), label="request")
    metadata = data.draw(actor_metadata(), label="metadata")
    wire = data.draw(wire_change(), label="wire")
    answer = await call(fuzzer.channel, method, request, metadata, wire)
    assert answer.code in ALLOWED, _describe(method, request, answer)
    # The database refusing a value is the safety net under validation, which should have
    # named the field that holds it.
    assert SAFETY_NET not in answer.details, _describe(method, request, answer)
    leaked = fuzzer.leaks(method, request, answer)
    assert not leaked, f"{leaked} of another user's in {_describe(method, request, answer)}"
    request_id: str = getattr(request, "request_id", "")
    if answer.code == Code.OK and request_id:
        # A retry with the request_id is safe: it answers what the first call answered.
        again = await call(fuzzer.channel, method, request, metadata, wire)
        assert (again.code, again.response) == (answer.code, answer.response), _describe(
            method, request, again
        )
    if (
        method.name == "DeleteUser"
        and answer.code == Code.OK
        and getattr(request, "name", None) == fuzzer.books.user.name
    ):
        await fuzzer.open()


def test_verify_command_finds_nothing_after_the_fuzzing(database_url):
    cli = Path(sys.executable).parent / "finance-tracker"
    env = {**os.environ, "FINANCE_TRACKER_DATABASE_URL": database_url}
    result = subprocess.run(
        [str(cli), "verify"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 discrepancies" in result.stderr
