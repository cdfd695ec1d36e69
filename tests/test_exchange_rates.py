"""Exchange rates: recorded per pair and day, found as the latest on or before a day (or the
inverse of the reverse pair's), taken from cross-currency transfers, and converting exactly."""

import uuid
from decimal import Decimal

import grpc
import pytest
from finance.v1 import exchange_rate_service_pb2 as pb
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import user_service_pb2 as upb
from google.protobuf import field_mask_pb2
from google.type import decimal_pb2

from service.domain.exchange_rates import convert, transfer_rate
from tests.builders import day, money
from tests.helpers import invalid_fields, rpc_error

ENTERED, TRANSFER = pb.ExchangeRate.SOURCE_ENTERED, pb.ExchangeRate.SOURCE_TRANSFER


@pytest.fixture
def rates(exchange_rates):
    return exchange_rates


def _rate(base: str, quote: str, d: int, value: str, month: int = 1) -> pb.ExchangeRate:
    return pb.ExchangeRate(
        base_currency_code=base,
        quote_currency_code=quote,
        rate_date=day(d, month),
        rate=decimal_pb2.Decimal(value=value),
    )


async def _enter(rates, user, base, quote, d, value, **fields) -> pb.ExchangeRate:
    created: pb.ExchangeRate = await rates.CreateExchangeRate(
        pb.CreateExchangeRateRequest(
            parent=user.name, exchange_rate=_rate(base, quote, d, value), **fields
        )
    )
    return created


async def _lookup(rates, user, base, quote, d) -> pb.LookupExchangeRateResponse:
    found: pb.LookupExchangeRateResponse = await rates.LookupExchangeRate(
        pb.LookupExchangeRateRequest(
            parent=user.name, base_currency_code=base, quote_currency_code=quote, as_of_date=day(d)
        )
    )
    return found


class TestRecording:
    async def test_a_rate_is_named_by_its_pair_and_day(self, rates, user):
        created = await _enter(rates, user, "EUR", "USD", 31, "1.08420")
        assert created.name == f"{user.name}/exchangeRates/eur-usd-2024-01-31"
        assert (created.rate.value, created.source) == ("1.0842", ENTERED)
        assert await rates.GetExchangeRate(pb.GetExchangeRateRequest(name=created.name)) == created

    async def test_a_second_rate_of_the_pair_on_the_day_already_exists(self, rates, user):
        await _enter(rates, user, "EUR", "USD", 31, "1.08")
        await rpc_error(
            _enter(rates, user, "EUR", "USD", 31, "1.09"), grpc.StatusCode.ALREADY_EXISTS
        )
        # The reverse pair is another rate.
        await _enter(rates, user, "USD", "EUR", 31, "0.92")

    async def test_a_retry_returns_the_first_rate(self, rates, user):
        request_id = str(uuid.uuid4())
        first = await _enter(rates, user, "EUR", "GBP", 5, "0.86", request_id=request_id)
        again = await _enter(rates, user, "EUR", "GBP", 5, "0.86", request_id=request_id)
        assert again == first

    async def test_update_changes_the_rate_and_checks_the_etag(self, rates, user):
        created = await _enter(rates, user, "EUR", "CHF", 2, "0.95")

        def update(value: str, etag: str = "") -> pb.UpdateExchangeRateRequest:
            return pb.UpdateExchangeRateRequest(
                exchange_rate=pb.ExchangeRate(
                    name=created.name, rate=decimal_pb2.Decimal(value=value), etag=etag
                ),
                update_mask=field_mask_pb2.FieldMask(paths=["rate"]),
            )

        updated = await rates.UpdateExchangeRate(update("0.96", created.etag))
        assert updated.rate.value == "0.96"
        await rpc_error(
            rates.UpdateExchangeRate(update("0.97", created.etag)), grpc.StatusCode.ABORTED
        )
        await rates.DeleteExchangeRate(pb.DeleteExchangeRateRequest(name=created.name))
        await rpc_error(
            rates.GetExchangeRate(pb.GetExchangeRateRequest(name=created.name)),
            grpc.StatusCode.NOT_FOUND,
        )

    async def test_lists_newest_day_first_and_filters(self, rates, user):
        for d in (3, 9, 6):
            await _enter(rates, user, "EUR", "USD", d, "1.1")
        await _enter(rates, user, "GBP", "USD", 4, "1.27")
        listed = await rates.ListExchangeRates(
            pb.ListExchangeRatesRequest(parent=user.name, filter='base_currency_code = "EUR"')
        )
        assert [r.rate_date.day for r in listed.exchange_rates] == [9, 6, 3]

    @pytest.mark.parametrize(
        ("value", "problem"),
        [
            ("", "is required"),
            ("abc", "is not a decimal number"),
            ("NaN", "is not a decimal number"),
            ("1_000", "is not a decimal number"),
            (" 1.1", "is not a decimal number"),
            ("0", "must be a positive number"),
            ("-1.2", "must be a positive number"),
            ("0.0000000000001", "at most 12 digits after the point"),
            ("1000000000000", "must be less than 10^12"),
        ],
    )
    async def test_refuses_a_rate_that_is_no_positive_decimal(self, rates, user, value, problem):
        violations = await invalid_fields(_enter(rates, user, "EUR", "USD", 1, value))
        assert problem in violations["exchange_rate.rate"]

    async def test_takes_the_edges_of_the_precision(self, rates, user):
        smallest = await _enter(rates, user, "EUR", "JPY", 1, "0.000000000001")
        largest = await _enter(rates, user, "EUR", "KRW", 1, "999999999999.999999999999")
        assert (smallest.rate.value, largest.rate.value) == (
            "0.000000000001",
            "999999999999.999999999999",
        )

    async def test_reports_every_invalid_field_at_once(self, rates):
        request = pb.CreateExchangeRateRequest(
            parent="people/x",
            exchange_rate=pb.ExchangeRate(base_currency_code="EUR", quote_currency_code="EUR"),
            request_id="nope",
        )
        violations = await invalid_fields(rates.CreateExchangeRate(request))
        assert set(violations) == {
            "parent",
            "exchange_rate.quote_currency_code",
            "exchange_rate.rate_date",
            "exchange_rate.rate",
            "request_id",
        }


class TestLookup:
    async def test_takes_the_latest_rate_on_or_before_the_day(self, rates, user):
        await _enter(rates, user, "EUR", "USD", 10, "1.10")
        await _enter(rates, user, "EUR", "USD", 20, "1.20")
        assert (await _lookup(rates, user, "EUR", "USD", 19)).rate.value == "1.1"
        assert (await _lookup(rates, user, "EUR", "USD", 20)).rate.value == "1.2"
        assert (await _lookup(rates, user, "EUR", "USD", 31)).rate.value == "1.2"
        error = await rpc_error(_lookup(rates, user, "EUR", "USD", 9), grpc.StatusCode.NOT_FOUND)
        assert "eur-usd-2024-01-09" in (error.details() or "")

    async def test_inverts_a_later_rate_of_the_reverse_pair(self, rates, user):
        await _enter(rates, user, "EUR", "USD", 10, "1.25")
        await _enter(rates, user, "USD", "EUR", 15, "0.5")
        found = await _lookup(rates, user, "EUR", "USD", 20)
        assert (found.rate.value, found.inverted, found.exchange_rate.rate_date.day) == (
            "2",
            True,
            15,
        )
        assert (await _lookup(rates, user, "EUR", "USD", 14)).inverted is False

    async def test_the_direct_pair_wins_a_tie(self, rates, user):
        await _enter(rates, user, "EUR", "USD", 10, "1.25")
        await _enter(rates, user, "USD", "EUR", 10, "0.5")
        found = await _lookup(rates, user, "EUR", "USD", 10)
        assert (found.rate.value, found.inverted) == ("1.25", False)

    async def test_an_inverse_is_kept_to_twelve_decimals(self, rates, user):
        await _enter(rates, user, "USD", "EUR", 10, "3")
        assert (await _lookup(rates, user, "EUR", "USD", 10)).rate.value == "0.333333333333"

    async def test_another_users_rates_are_not_used(self, rates, user, users):
        from tests.builders import create_user

        other = await create_user(users)
        await _enter(rates, other, "EUR", "USD", 10, "1.25")
        await rpc_error(_lookup(rates, user, "EUR", "USD", 10), grpc.StatusCode.NOT_FOUND)


class TestTransfers:
    async def test_a_transfer_between_currencies_leaves_its_rate(self, rates, books):
        euros, dollars = await books.account("Euros"), await books.account("Dollars", "USD")
        await books.transactions.TransferFunds(
            tpb.TransferFundsRequest(
                parent=books.user.name,
                from_account=euros.name,
                to_account=dollars.name,
                amount=money(100),
                to_amount=money(108, "USD", nanos=420_000_000),
                booking_date=day(12),
            )
        )
        found = await _lookup(rates, books.user, "EUR", "USD", 12)
        assert (found.rate.value, found.exchange_rate.source) == ("1.0842", TRANSFER)
        # An entered rate of that day replaces it; a later transfer does not.
        entered = await _enter(rates, books.user, "EUR", "USD", 12, "1.09")
        assert entered.source == ENTERED
        await books.transactions.TransferFunds(
            tpb.TransferFundsRequest(
                parent=books.user.name,
                from_account=euros.name,
                to_account=dollars.name,
                amount=money(10),
                to_amount=money(20, "USD"),
                booking_date=day(12),
            )
        )
        assert (await _lookup(rates, books.user, "EUR", "USD", 12)).rate.value == "1.09"


@pytest.mark.parametrize(
    ("amount", "base", "quote", "rate", "expected"),
    [
        (10000, "EUR", "USD", "1.0842", 10842),
        (1, "EUR", "USD", "1.005", 1),  # 1.005 cents: half to even -> 1
        (3, "EUR", "USD", "0.5", 2),  # 1.5 cents -> 2
        (5, "EUR", "USD", "0.5", 2),  # 2.5 cents -> 2
        (10000, "EUR", "JPY", "161.234", 16123),  # 100 EUR -> 16123.4 JPY (no minor unit)
        (16123, "JPY", "EUR", "0.0062", 9996),  # 16123 JPY -> 99.9626 EUR
        (1000, "EUR", "KWD", "0.333", 3330),  # 10 EUR -> 3.330 KWD (three digits)
        (-10000, "EUR", "USD", "1.0842", -10842),
    ],
)
def test_converts_minor_units_exactly(amount, base, quote, rate, expected):
    assert convert(amount, base, quote, Decimal(rate)) == expected


def test_a_transfers_rate_is_in_whole_units_of_each_currency():
    # 100.00 EUR for 16123 JPY, and back.
    assert transfer_rate(10000, "EUR", 16123, "JPY") == Decimal("161.23")
    assert transfer_rate(16123, "JPY", 10000, "EUR") == Decimal(
        "0.006202319668"
    )  # 0.0062023196675...: rounded up


async def test_a_users_rates_are_left_for_a_plain_delete_and_erased_by_force(rates, users, user):
    await _enter(rates, user, "EUR", "USD", 1, "1.1")
    error = await rpc_error(
        users.DeleteUser(upb.DeleteUserRequest(name=user.name)),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "1 exchange rate;" in (error.details() or "")
    await users.DeleteUser(upb.DeleteUserRequest(name=user.name, force=True))
    await rpc_error(_lookup(rates, user, "EUR", "USD", 1), grpc.StatusCode.NOT_FOUND)
