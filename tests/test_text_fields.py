"""Text fields refuse control characters (ANSI escapes among them) and bidirectional overrides,
naming the field; only notes may break lines and hold tabs."""

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from finance.v1 import account_service_pb2 as apb
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import member_service_pb2 as mpb
from finance.v1 import payee_service_pb2 as ppb
from finance.v1 import rule_service_pb2 as rpb
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import user_service_pb2 as upb
from google.protobuf import json_format

from service.api.text import check_characters
from service.domain.errors import InvalidArgument
from tests.builders import EXPENSE, Books, day, leg, money, new_account, new_user
from tests.helpers import invalid_fields
from tests.resources import Clients, mask

# An ANSI escape sequence that clears the screen, at position 3 of every value sent.
CLEAR_SCREEN = "abc\x1b[2Jdef"
ESCAPE_REFUSED = "must not contain control characters (U+001B at position 3)"


@dataclass(frozen=True)
class Target:
    """A request whose one text field `field` is set to a value under test, all else valid."""

    owner: str  # the user's name
    account: str  # the name of an account of the user (need not exist: parsing comes first)
    clients: Clients


Send = Callable[[Target, str], Awaitable[Any]]


def _transaction(t: Target, **fields: Any) -> tpb.Transaction:
    postings = [
        tpb.Posting(account=t.account, amount=money(-1)),
        tpb.Posting(account=t.account + "x", amount=money(1)),
    ]
    values: dict[str, Any] = {"booking_date": day(15), "postings": postings, **fields}
    return tpb.Transaction(**values)


def _create_transaction(t: Target, **fields: Any) -> Awaitable[Any]:
    request = tpb.CreateTransactionRequest(parent=t.owner, transaction=_transaction(t, **fields))
    return t.clients.transactions.CreateTransaction(request)


def _with_memo(t: Target, memo: str) -> Awaitable[Any]:
    transaction = _transaction(t)
    transaction.postings[1].memo = memo
    request = tpb.CreateTransactionRequest(parent=t.owner, transaction=transaction)
    return t.clients.transactions.CreateTransaction(request)


def _update_transaction(t: Target, path: str, **fields: Any) -> Awaitable[Any]:
    transaction = tpb.Transaction(name=f"{t.owner}/transactions/t1", **fields)
    request = tpb.UpdateTransactionRequest(transaction=transaction, update_mask=mask(path))
    return t.clients.transactions.UpdateTransaction(request)


def _update_user(t: Target, path: str, **fields: Any) -> Awaitable[Any]:
    user = upb.User(name=t.owner, **fields)
    return t.clients.users.UpdateUser(upb.UpdateUserRequest(user=user, update_mask=mask(path)))


def _one_off(t: Target, kind: str, text: str) -> Awaitable[Any]:
    fields: dict[str, Any] = {
        "parent": t.owner,
        "booking_date": day(15),
        "description": text,
        "amount": money(1),
    }
    if kind == "transfer":
        request = tpb.TransferFundsRequest(from_account=t.account, to_account=t.account, **fields)
        return t.clients.transactions.TransferFunds(request)
    if kind == "income":
        return t.clients.transactions.RecordIncome(
            tpb.RecordIncomeRequest(account=t.account, **fields)
        )
    return t.clients.transactions.RecordExpense(
        tpb.RecordExpenseRequest(account=t.account, **fields)
    )


# Every text field of every request that stores text, with how to send a value in it.
TEXT_FIELDS: dict[str, tuple[str, Send]] = {
    "CreateUser display_name": (
        "user.display_name",
        lambda t, s: t.clients.users.CreateUser(upb.CreateUserRequest(user=new_user(s))),
    ),
    "CreateUser email": (
        "user.email",
        lambda t, s: t.clients.users.CreateUser(
            upb.CreateUserRequest(user=new_user(email=f"{s}@example.org"))
        ),
    ),
    "UpdateUser display_name": (
        "user.display_name",
        lambda t, s: _update_user(t, "display_name", display_name=s),
    ),
    "UpdateUser email": (
        "user.email",
        lambda t, s: _update_user(t, "email", email=f"{s}@example.org"),
    ),
    "CreateAccount display_name": (
        "account.display_name",
        lambda t, s: t.clients.accounts.CreateAccount(
            apb.CreateAccountRequest(parent=t.owner, account=new_account(display_name=s))
        ),
    ),
    "UpdateAccount display_name": (
        "account.display_name",
        lambda t, s: t.clients.accounts.UpdateAccount(
            apb.UpdateAccountRequest(
                account=apb.Account(name=t.account, display_name=s),
                update_mask=mask("display_name"),
            )
        ),
    ),
    "CreateCategory display_name": (
        "category.display_name",
        lambda t, s: t.clients.categories.CreateCategory(
            cpb.CreateCategoryRequest(
                parent=t.owner, category=cpb.Category(display_name=s, kind=EXPENSE)
            )
        ),
    ),
    "UpdateCategory display_name": (
        "category.display_name",
        lambda t, s: t.clients.categories.UpdateCategory(
            cpb.UpdateCategoryRequest(
                category=cpb.Category(name=f"{t.owner}/categories/c1", display_name=s),
                update_mask=mask("display_name"),
            )
        ),
    ),
    "CreatePayee display_name": (
        "payee.display_name",
        lambda t, s: t.clients.payees.CreatePayee(
            ppb.CreatePayeeRequest(parent=t.owner, payee=ppb.Payee(display_name=s))
        ),
    ),
    "UpdatePayee display_name": (
        "payee.display_name",
        lambda t, s: t.clients.payees.UpdatePayee(
            ppb.UpdatePayeeRequest(
                payee=ppb.Payee(name=f"{t.owner}/payees/p1", display_name=s),
                update_mask=mask("display_name"),
            )
        ),
    ),
    "CreateTransaction description": (
        "transaction.description",
        lambda t, s: _create_transaction(t, description=s),
    ),
    "CreateTransaction notes": (
        "transaction.notes",
        lambda t, s: _create_transaction(t, notes=s),
    ),
    "CreateTransaction tags": (
        "transaction.tags[1]",
        lambda t, s: _create_transaction(t, tags=["fine", s]),
    ),
    "CreateTransaction external_id": (
        "transaction.external_id",
        lambda t, s: _create_transaction(t, external_id=s),
    ),
    "CreateTransaction memo": ("transaction.postings[1].memo", _with_memo),
    "UpdateTransaction description": (
        "transaction.description",
        lambda t, s: _update_transaction(t, "description", description=s),
    ),
    "UpdateTransaction notes": (
        "transaction.notes",
        lambda t, s: _update_transaction(t, "notes", notes=s),
    ),
    "UpdateTransaction tags": (
        "transaction.tags[0]",
        lambda t, s: _update_transaction(t, "tags", tags=[s]),
    ),
    "UpdateTransaction memo": (
        "transaction.postings[1].memo",
        lambda t, s: _update_transaction(
            t, "postings.memo", postings=[tpb.Posting(memo="fine"), tpb.Posting(memo=s)]
        ),
    ),
    "RecordExpense description": ("description", lambda t, s: _one_off(t, "expense", s)),
    "RecordIncome description": ("description", lambda t, s: _one_off(t, "income", s)),
    "TransferFunds description": ("description", lambda t, s: _one_off(t, "transfer", s)),
    "CreateMember principal": (
        "member.principal",
        lambda t, s: t.clients.members.CreateMember(
            mpb.CreateMemberRequest(
                parent=t.owner, member=mpb.Member(principal=s, role=mpb.Member.ROLE_VIEWER)
            )
        ),
    ),
    "ReverseTransaction reason": (
        "reason",
        lambda t, s: t.clients.transactions.ReverseTransaction(
            tpb.ReverseTransactionRequest(name=f"{t.owner}/transactions/t1", reason=s)
        ),
    ),
}


def _create_rule(t: Target, field: str, text: str) -> Awaitable[Any]:
    """A CreateRule whose text `field` ("conditions.x", "actions.y" or "display_name") holds
    `text`, all else valid."""
    values: dict[str, dict[str, Any]] = {
        "conditions": {"description_contains": "bakery"},
        "actions": {"add_tags": ["food"]},
        "display_name": {},
    }
    part, _, name = field.partition(".")
    rule = rpb.Rule(display_name="Bakery")
    if name:
        values[part][name] = [text] if name == "add_tags" else text
    else:
        rule.display_name = text
    rule.conditions.CopyFrom(rpb.RuleConditions(**values["conditions"]))
    rule.actions.CopyFrom(rpb.RuleActions(**values["actions"]))
    return t.clients.rules.CreateRule(rpb.CreateRuleRequest(parent=t.owner, rule=rule))


def _rule_case(field: str) -> tuple[str, Send]:
    def send(t: Target, text: str) -> Awaitable[Any]:
        return _create_rule(t, field, text)

    return f"rule.{field}" + ("[0]" if field.endswith("add_tags") else ""), send


TEXT_FIELDS.update(
    {
        f"CreateRule {field}": _rule_case(field)
        for field in (
            "display_name",
            "conditions.description_contains",
            "conditions.description_regex",
            "conditions.external_id_contains",
            "actions.set_description",
            "actions.add_tags",
        )
    }
)
TEXT_FIELDS["UpdateRule display_name"] = (
    "rule.display_name",
    lambda t, s: t.clients.rules.UpdateRule(
        rpb.UpdateRuleRequest(
            rule=rpb.Rule(name=f"{t.owner}/rules/r1", display_name=s),
            update_mask=mask("display_name"),
        )
    ),
)
MULTI_LINE = {"CreateTransaction notes", "UpdateTransaction notes"}


@pytest.fixture
def target(user, clients) -> Target:
    """Requests on behalf of the test's user."""
    return Target(user.name, f"{user.name}/accounts/a1", clients)


@pytest.mark.parametrize("case", TEXT_FIELDS)
class TestEveryTextField:
    async def test_refuses_an_ansi_escape_naming_the_field(self, target, case):
        field, send = TEXT_FIELDS[case]
        violations = await invalid_fields(send(target, CLEAR_SCREEN))
        assert violations == {field: ESCAPE_REFUSED}

    async def test_refuses_a_bidirectional_override_naming_the_field(self, target, case):
        field, send = TEXT_FIELDS[case]
        violations = await invalid_fields(send(target, "abc\u202edef"))
        assert violations == {
            field: "must not contain bidirectional controls (U+202E at position 3)"
        }

    async def test_refuses_a_line_break_unless_the_field_is_multi_line(self, target, case):
        field, send = TEXT_FIELDS[case]
        carriage_return = await invalid_fields(send(target, "ab\r\ncd"))
        assert carriage_return == {
            field: "must not contain control characters (U+000D at position 2)"
        }
        if case in MULTI_LINE:
            return
        line_feed = await invalid_fields(send(target, "ab\ncd"))
        assert line_feed == {field: "must be a single line, without tabs (U+000A at position 2)"}


# The first and last code point of each refused range, and \t and \n, refused in one line.
REFUSED = ["\x00", "\t", "\n", "\x1f", "\x7f", "\x9f", "\u202a", "\u202e", "\u2066", "\u2069"]
# The neighbours of those ranges, which are text.
ACCEPTED = ["\x20", "\x7e", "\xa0", "\u2029", "\u202f", "\u2065", "\u206a"]


class TestRefusedCharacters:
    @pytest.mark.parametrize("character", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
    async def test_refuses_the_edges_of_each_range(self, payees, user, character):
        payee = ppb.Payee(display_name=f"a{character}b")
        violations = await invalid_fields(
            payees.CreatePayee(ppb.CreatePayeeRequest(parent=user.name, payee=payee))
        )
        assert f"(U+{ord(character):04X} at position 1)" in violations["payee.display_name"]

    @pytest.mark.parametrize("character", ACCEPTED, ids=lambda c: f"U+{ord(c):04X}")
    async def test_accepts_their_neighbours(self, payees, user, character):
        payee = ppb.Payee(display_name=f"a{character}b")
        created = await payees.CreatePayee(ppb.CreatePayeeRequest(parent=user.name, payee=payee))
        assert created.display_name == f"a{character}b"

    def test_refuses_exactly_the_controls_and_the_bidirectional_overrides(self):
        bidi = {*range(0x202A, 0x202F), *range(0x2066, 0x206A)}
        controls = {*range(0x00, 0x20), *range(0x7F, 0xA0)}
        assert _refused(multiline=False) == controls | bidi
        assert _refused(multiline=True) == (controls - {0x09, 0x0A}) | bidi


def _refused(*, multiline: bool) -> set[int]:
    refused = set()
    for code in range(sys.maxunicode + 1):
        try:
            check_characters(chr(code), "field", multiline=multiline)
        except InvalidArgument:
            refused.add(code)
    return refused


@pytest.fixture
def books(user, accounts, transactions) -> Books:
    """The test user's books."""
    return Books(user, accounts, transactions)


class TestNotes:
    async def test_keep_their_line_breaks_and_tabs(self, books):
        checking, cash = await books.account("Checking"), await books.account("Cash")
        notes = "Split with Bob:\n\t- bread\n\t- cheese"
        created = await books.create(leg(checking, -5), leg(cash, 5), notes=f"\n{notes}\n")
        assert created.notes == notes


class TestActorMetadata:
    """`x-actor`, stored as the actor of audit events, holds what a text field may hold. The
    Python client refuses to send such bytes in metadata; grpcurl (grpc-go) sends them."""

    @pytest.mark.parametrize(
        ("actor", "description"),
        [
            ("a\x1b[31mb", "must not contain control characters (U+001B at position 1)"),
            ("a\u202eb", "must not contain bidirectional controls (U+202E at position 1)"),
        ],
    )
    async def test_refuses_an_actor_no_text_field_may_hold(
        self, app, accounts, user, actor, description
    ):
        data = {"parent": user.name, "account": _json(new_account())}
        result = await _grpcurl(app.port, actor, "AccountService/CreateAccount", data)
        assert _field_violations(result) == {"x-actor": description}
        listed = await accounts.ListAccounts(apb.ListAccountsRequest(parent=user.name))
        assert list(listed.accounts) == []

    async def test_is_reported_with_the_other_invalid_fields(self, app, user):
        data = {"parent": user.name, "account": f"{user.name}/accounts/a1", "request_id": "x"}
        result = await _grpcurl(app.port, "a\x1bb", "TransactionService/RecordExpense", data)
        assert set(_field_violations(result)) >= {"request_id", "x-actor", "amount"}


def _json(message: Any) -> Any:
    return json.loads(json_format.MessageToJson(message))


async def _grpcurl(
    port: int, actor: str, method: str, data: dict[str, Any]
) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "grpcurl"),
        "-plaintext",
        "-H",
        f"x-actor: {actor}",
        "-d",
        json.dumps(data),
        f"127.0.0.1:{port}",
        f"finance.v1.{method}",
    ]
    # In a thread: the server answering runs on this test's event loop.
    return await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=30
    )


def _field_violations(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The BadRequest field violations grpcurl prints for an INVALID_ARGUMENT."""
    output = result.stdout + result.stderr
    assert "Code: InvalidArgument" in output, output
    found = re.search(r'(\{"@type":"type.googleapis.com/google.rpc.BadRequest".*\})\n', output)
    assert found, output
    violations = json.loads(found.group(1))["field_violations"]
    return {v["field"]: v["description"] for v in violations}
