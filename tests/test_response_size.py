"""No List response passes what a gRPC client takes by default (4 MiB): a page of large items
is cut short, and its next_page_token continues it."""

import asyncio
from datetime import UTC, datetime

from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import user_service_pb2 as upb

from service.api import pagination
from service.api.convert import user_to_proto
from service.api.page_tokens import PageTokens
from service.domain.listing import Page
from service.domain.models import User
from tests.builders import Books, leg

MEMO = "m" * 500


async def _large_transaction(books: Books, checking, savings) -> tpb.Transaction:
    # 100 postings with the longest memos: about 60 KB as a message.
    postings = [leg(checking, -1, memo=MEMO) for _ in range(50)]
    postings += [leg(savings, 1, memo=MEMO) for _ in range(50)]
    return await books.create(*postings, description="d" * 500, notes="n" * 2000)


async def test_a_page_of_large_transactions_stays_under_the_client_limit(books, transactions):
    checking, savings = await books.account(), await books.account("Savings")
    made: set[str] = set()
    for _ in range(8):  # 80 transactions: some 4.8 MB in all
        batch = await asyncio.gather(
            *(_large_transaction(books, checking, savings) for _ in range(10))
        )
        made.update(t.name for t in batch)
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        page = await transactions.ListTransactions(
            tpb.ListTransactionsRequest(parent=books.user.name, page_size=1000, page_token=token)
        )
        assert page.ByteSize() <= 4 * 1024 * 1024
        seen += [t.name for t in page.transactions if t.name in made]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages >= 2
    assert sorted(seen) == sorted(made)


def _user(index: int) -> User:
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    return User(f"user-{index:04}", "x" * 100, "", index, moment, moment)


def test_fit_takes_what_the_budget_holds_and_continues_after_it():
    tokens = PageTokens.with_random_key()
    paging = pagination.Paging(upb.ListUsersRequest(page_size=10), tokens)
    users = [_user(i) for i in range(5)]
    page = Page(users, next_cursor=None, cursors=tuple((u.user_id,) for u in users))
    size = user_to_proto(users[0]).ByteSize()
    assert 128 <= size < 16384  # so its length prefix takes two bytes
    one = size + 1 + 2  # the message, its field tag and its length prefix
    items, token = paging.fit(page, user_to_proto, budget=2 * one)
    assert [i.name for i in items] == ["users/user-0000", "users/user-0001"]
    assert pagination.Paging(upb.ListUsersRequest(page_token=token), tokens).query.after == (
        "user-0001",
    )
    everything, last = paging.fit(page, user_to_proto, budget=5 * one)
    assert (len(everything), last) == (5, "")
    # One item always goes out, however large.
    single, _ = paging.fit(page, user_to_proto, budget=1)
    assert len(single) == 1
