"""A ledger workload for servers reached in other ways than the shared test server (through
PgBouncer, in other processes), and the checks that it reconciled exactly."""

import asyncio
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import grpc
from finance.v1 import account_service_pb2 as apb
from finance.v1 import account_service_pb2_grpc as apb_grpc
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import transaction_service_pb2_grpc as tpb_grpc
from finance.v1 import user_service_pb2_grpc as upb_grpc

from tests.builders import create_account, create_user, day, money

# Opening balances, in whole EUR: one account most money leaves, three that spend it back.
OPENING = {"hot": 5_000, "a": 300, "b": 300, "c": 300}
# The booking date of every transfer, which lists them apart from the opening balances.
TRANSFER_DAY = day(1, 3)


@dataclass(frozen=True)
class Clients:
    """The stubs of one server."""

    users: Any
    accounts: Any
    transactions: Any

    @classmethod
    def of(cls, channel: grpc.aio.Channel) -> "Clients":
        """Stubs over `channel`."""
        return cls(
            upb_grpc.UserServiceStub(channel),
            apb_grpc.AccountServiceStub(channel),
            tpb_grpc.TransactionServiceStub(channel),
        )


@dataclass
class Ledger:
    """A fresh user's accounts, and what the workload moved between them."""

    user_name: str
    accounts: dict[str, apb.Account]
    # request_id -> (from, to, units) of every transfer that was answered OK.
    moved: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    # request_id -> the transaction names its answers gave (one, if retries wrote nothing).
    names: dict[str, set[str]] = field(default_factory=dict)
    codes: Counter[grpc.StatusCode] = field(default_factory=Counter)

    @classmethod
    async def open(cls, server: Clients) -> "Ledger":
        """A new user with the OPENING accounts, none of which may go below zero."""
        user = await create_user(server.users, "Workload")
        created = {}
        for name, units in OPENING.items():
            created[name] = await create_account(
                server.accounts,
                user.name,
                display_name=name,
                opening_balance=money(units),
                credit_limit=money(0),
            )
        return cls(user.name, created)

    def transfer(self, rng: random.Random, source: str = "") -> tpb.TransferFundsRequest:
        """A transfer of a random amount between two random accounts (from `source` if
        given), with a new request_id."""
        if source:
            target = rng.choice(sorted(set(OPENING) - {source}))
        else:
            source, target = rng.sample(sorted(OPENING), 2)
        return tpb.TransferFundsRequest(
            parent=self.user_name,
            from_account=self.accounts[source].name,
            to_account=self.accounts[target].name,
            amount=money(rng.randint(1, 200)),
            booking_date=TRANSFER_DAY,
            request_id=str(uuid.uuid4()),
        )

    async def send(self, request: tpb.TransferFundsRequest, *servers: Clients) -> None:
        """Send `request` to each of `servers` at once, as a client retrying a timeout on
        another replica would, and note the answers."""
        results = await asyncio.gather(
            *(s.transactions.TransferFunds(request) for s in servers), return_exceptions=True
        )
        for result in results:
            if isinstance(result, grpc.aio.AioRpcError):
                self.codes[result.code()] += 1
            elif isinstance(result, BaseException):
                raise result
            else:
                self.note(request.request_id, self.move_of(request), result.name)

    def note(self, request_id: str, move: tuple[str, str, int], name: str) -> None:
        """Note an OK answer to request `request_id`: `move` (from, to, units), recorded as
        transaction `name`."""
        self.codes[grpc.StatusCode.OK] += 1
        self.moved[request_id] = move
        self.names.setdefault(request_id, set()).add(name)

    def move_of(self, request: tpb.TransferFundsRequest) -> tuple[str, str, int]:
        """What `request` moves: from which account key to which, and how many units."""
        keys = {account.name: key for key, account in self.accounts.items()}
        return keys[request.from_account], keys[request.to_account], request.amount.units

    async def run(self, servers: list[Clients], *, clients: int, transfers: int, seed: int) -> None:
        """`clients` concurrent clients, each making `transfers` transfers through a random
        server, a third of them sent twice at once (to another server where there is one),
        and reading a balance after each; no balance is ever seen below zero."""

        async def client(own: random.Random) -> None:
            for _ in range(transfers):
                first = own.randrange(len(servers))
                retry = (first + 1) % len(servers)
                sent_to = (
                    [servers[first], servers[retry]] if own.random() < 0.33 else [servers[first]]
                )
                await self.send(self.transfer(own), *sent_to)
                account = self.accounts[own.choice(sorted(OPENING))]
                read = await servers[retry].accounts.GetAccount(
                    apb.GetAccountRequest(name=account.name)
                )
                assert read.balance.units >= 0, read

        rng = random.Random(seed)
        await asyncio.gather(*(client(random.Random(rng.random())) for _ in range(clients)))

    def expected_balances(self) -> dict[str, int]:
        """The balance of each account after the opening and every transfer answered OK."""
        expected = dict(OPENING)
        for source, target, units in self.moved.values():
            expected[source] -= units
            expected[target] += units
        return expected

    async def check_reconciled(self, servers: list[Clients]) -> None:
        """Every OK transfer is stored once and nothing else is: each retry named the first
        transaction, the balances are the openings plus the transfers, and the transfers a
        List shows, page by page (each page from the next server), are exactly those."""
        assert set(self.codes) <= {grpc.StatusCode.OK, grpc.StatusCode.FAILED_PRECONDITION}
        assert self.codes[grpc.StatusCode.OK] > 0
        assert all(len(found) == 1 for found in self.names.values()), self.names
        expected = self.expected_balances()
        for key, account in self.accounts.items():
            got = await servers[0].accounts.GetAccount(apb.GetAccountRequest(name=account.name))
            assert got.balance.units == expected[key], key
        assert sum(expected.values()) == sum(OPENING.values())
        listed = await self.list_transfers(servers)
        assert sorted(listed) == sorted(n for found in self.names.values() for n in found)

    async def list_transfers(self, servers: list[Clients]) -> list[str]:
        """The names of the transfers, listed 7 at a time, each page asked of the next server."""
        names: list[str] = []
        token = ""
        for page in range(10_000):
            response = await servers[page % len(servers)].transactions.ListTransactions(
                tpb.ListTransactionsRequest(
                    parent=self.user_name,
                    filter='booking_date = "2024-03-01"',
                    page_size=7,
                    page_token=token,
                )
            )
            names.extend(t.name for t in response.transactions)
            token = response.next_page_token
            if not token:
                return names
        raise AssertionError("the pages never end")
