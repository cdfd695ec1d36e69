"""List calls: filters, ordering and page tokens, through ListAccounts and ListUsers."""

import grpc
import pytest
from finance.v1 import account_service_pb2, user_service_pb2

from tests.builders import create_account
from tests.helpers import invalid_fields

A = account_service_pb2
Account = A.Account


async def list_all(accounts, parent: str, page_size: int, **fields: str) -> list[A.Account]:
    found: list[A.Account] = []
    token = ""
    while True:
        page = await accounts.ListAccounts(
            A.ListAccountsRequest(parent=parent, page_size=page_size, page_token=token, **fields)
        )
        assert len(page.accounts) <= page_size
        found += page.accounts
        token = page.next_page_token
        if not token:
            return found


class TestPagination:
    async def test_walks_every_account_once_in_order(self, accounts, user):
        created = [
            await create_account(accounts, user.name, display_name=f"A{i:02}") for i in range(7)
        ]
        listed = await list_all(accounts, user.name, page_size=3)
        assert [a.name for a in listed] == [a.name for a in created]

    async def test_inserts_between_pages_neither_repeat_nor_hide_earlier_accounts(
        self, accounts, user
    ):
        first_batch = [
            await create_account(accounts, user.name, display_name=f"B{i}") for i in range(4)
        ]
        page = await accounts.ListAccounts(
            A.ListAccountsRequest(parent=user.name, page_size=2, order_by="display_name")
        )
        # Accounts inserted before and after the cursor while the client pages.
        late = [
            await create_account(accounts, user.name, display_name=n) for n in ("A0", "B15", "Z9")
        ]
        rest = await accounts.ListAccounts(
            A.ListAccountsRequest(
                parent=user.name,
                page_size=100,
                order_by="display_name",
                page_token=page.next_page_token,
            )
        )
        seen = [a.display_name for a in [*page.accounts, *rest.accounts]]
        assert len(seen) == len(set(seen))
        assert {a.display_name for a in first_batch} <= set(seen)
        assert seen == sorted(seen)
        assert "B15" in seen
        assert "Z9" in seen
        assert "A0" not in seen  # it sorts before the cursor: the next listing shows it
        assert len(late) == 3

    async def test_descending_multi_key_order(self, accounts, user):
        for name, currency in [("X", "EUR"), ("Y", "USD"), ("Z", "EUR"), ("W", "USD")]:
            await create_account(accounts, user.name, display_name=name, currency_code=currency)
        listed = await list_all(
            accounts, user.name, page_size=1, order_by="currency_code desc, display_name"
        )
        assert [a.display_name for a in listed] == ["W", "Y", "X", "Z"]

    async def test_page_size_is_capped_and_defaulted(self, accounts, user):
        for i in range(3):
            await create_account(accounts, user.name, display_name=f"C{i}")
        page = await accounts.ListAccounts(A.ListAccountsRequest(parent=user.name, page_size=5000))
        assert len(page.accounts) == 3
        assert not page.next_page_token

    async def test_rejects_negative_page_size_and_bad_token(self, accounts, user):
        violations = await invalid_fields(
            accounts.ListAccounts(
                A.ListAccountsRequest(parent=user.name, page_size=-1, page_token="%%%")
            )
        )
        assert set(violations) == {"page_size", "page_token"}

    async def test_rejects_token_reused_with_other_filter(self, accounts, user):
        for i in range(3):
            await create_account(accounts, user.name, display_name=f"D{i}")
        page = await accounts.ListAccounts(A.ListAccountsRequest(parent=user.name, page_size=1))
        violations = await invalid_fields(
            accounts.ListAccounts(
                A.ListAccountsRequest(
                    parent=user.name,
                    page_size=1,
                    page_token=page.next_page_token,
                    filter='display_name = "D1"',
                )
            )
        )
        assert "page_token" in violations

    async def test_unknown_parent_is_not_found(self, accounts):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await accounts.ListAccounts(A.ListAccountsRequest(parent="users/nobody-here"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


class TestFilter:
    @pytest.fixture
    async def mixed(self, accounts, user):
        await create_account(accounts, user.name, display_name="Savings", currency_code="EUR")
        await create_account(accounts, user.name, display_name="Visa", type=Account.TYPE_LIABILITY)
        cash = await create_account(accounts, user.name, display_name="Cash", currency_code="USD")
        await accounts.ArchiveAccount(A.ArchiveAccountRequest(name=cash.name))
        return user

    @pytest.mark.parametrize(
        ("filter_text", "expected"),
        [
            ('currency_code = "EUR"', {"Savings", "Visa"}),
            ("type = TYPE_LIABILITY", {"Visa"}),
            ("state = STATE_ARCHIVED", {"Cash"}),
            ("type = TYPE_ASSET AND state = STATE_ACTIVE", {"Savings"}),
            ('display_name:"sav" OR display_name:"cas"', {"Savings", "Cash"}),
            ('NOT currency_code = "EUR"', {"Cash"}),
            ("-type = TYPE_ASSET", {"Visa"}),
            (
                'type = TYPE_ASSET AND (currency_code = "USD" OR display_name = "Savings")',
                {"Savings", "Cash"},
            ),
            ('create_time > "2000-01-01T00:00:00Z"', {"Savings", "Visa", "Cash"}),
            ('display_name:"100%"', set()),
        ],
    )
    async def test_selects_matching_accounts(self, accounts, mixed, filter_text, expected):
        page = await accounts.ListAccounts(
            A.ListAccountsRequest(parent=mixed.name, filter=filter_text)
        )
        assert {a.display_name for a in page.accounts} == expected

    @pytest.mark.parametrize(
        "filter_text",
        [
            "balance > 5",
            "type = ASSETS",
            "type > TYPE_ASSET",
            'create_time > "yesterday"',
            'display_name = "x" display_name = "y"',
            "(type = TYPE_ASSET",
            "type =",
            'currency_code = "EUR" AND',
        ],
    )
    async def test_rejects_invalid_filter(self, accounts, user, filter_text):
        violations = await invalid_fields(
            accounts.ListAccounts(A.ListAccountsRequest(parent=user.name, filter=filter_text))
        )
        assert "filter" in violations

    async def test_rejects_unknown_order_by_field(self, accounts, user):
        violations = await invalid_fields(
            accounts.ListAccounts(A.ListAccountsRequest(parent=user.name, order_by="balance"))
        )
        assert "order_by" in violations


class TestListUsers:
    async def test_filters_and_pages_users(self, users):
        tag = "Pager"
        for i in range(3):
            await users.CreateUser(
                user_service_pb2.CreateUserRequest(
                    user=user_service_pb2.User(display_name=f"{tag} {i}")
                )
            )
        names: list[str] = []
        token = ""
        while True:
            page = await users.ListUsers(
                user_service_pb2.ListUsersRequest(
                    page_size=2,
                    page_token=token,
                    filter=f'display_name:"{tag}"',
                    order_by="display_name desc",
                )
            )
            names += [u.display_name for u in page.users]
            token = page.next_page_token
            if not token:
                break
        assert names == [f"{tag} 2", f"{tag} 1", f"{tag} 0"]
