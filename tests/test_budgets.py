"""BudgetService: budgets of both styles, and their status measured against the ledger."""

import uuid

import grpc
import pytest
from finance.v1 import account_service_pb2 as apb
from finance.v1 import audit_service_pb2 as aupb
from finance.v1 import budget_service_pb2 as bpb
from finance.v1 import category_service_pb2 as cpb
from finance.v1 import exchange_rate_service_pb2 as xpb
from finance.v1 import transaction_service_pb2 as tpb
from finance.v1 import user_service_pb2 as upb
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from google.type import decimal_pb2

from tests.budget_builders import Planner, assign, envelopes, limits, line, units
from tests.builders import INCOME, create_account, create_category, create_user, day, money
from tests.helpers import field_violations, rpc_error, unpack


@pytest.fixture
async def planner(user, budgets, transactions) -> Planner:
    return Planner(user.name, budgets, transactions)


@pytest.fixture
async def food(categories, user):
    return await create_category(categories, user.name, "Food")


@pytest.fixture
async def checking(accounts, user):
    return await create_account(accounts, user.name)


def by_category(status: bpb.BudgetStatus) -> dict[str, bpb.BudgetStatus.Line]:
    return {entry.category: entry for entry in status.lines}


class TestCreateBudget:
    async def test_returns_the_budget_with_its_lines(self, planner, food):
        budget = await planner.create(limits(line(food.name, 300)))
        assert budget.name.startswith(f"{planner.user}/budgets/")
        assert [(entry.category, entry.amount.units) for entry in budget.lines] == [
            (food.name, 300)
        ]
        assert budget.etag
        got = await planner.budgets.GetBudget(bpb.GetBudgetRequest(name=budget.name))
        assert got == budget

    async def test_a_retry_with_the_same_request_id_returns_the_first_budget(self, planner, food):
        request_id = str(uuid.uuid4())
        first = await planner.create(limits(line(food.name, 1)), request_id=request_id)
        again = await planner.create(limits(line(food.name, 1)), request_id=request_id)
        assert again.name == first.name

    async def test_an_income_category_is_invalid(self, planner, categories):
        salary = await create_category(categories, planner.user, "Salary", INCOME)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.create(limits(line(salary.name, 1)))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(error.value) == {
            "budget.lines[0].category": f"{salary.name} is for income; budgets plan expenses"
        }

    async def test_an_unknown_category_is_not_found(self, planner):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.create(limits(line(f"{planner.user}/categories/nope", 1)))
        assert error.value.code() == grpc.StatusCode.NOT_FOUND

    async def test_another_users_category_is_not_found(self, planner, users, categories):
        other = await create_user(users)
        theirs = await create_category(categories, other.name)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.create(limits(line(theirs.name, 1)))
        assert error.value.code() == grpc.StatusCode.NOT_FOUND

    @pytest.mark.parametrize(
        ("fields", "violations"),
        [
            (
                {"display_name": ""},
                {"budget.display_name"},
            ),
            ({"style": 0}, {"budget.style"}),
            ({"style": 9}, {"budget.style"}),
            ({"currency_code": "EURO"}, {"budget.currency_code"}),
            ({"period": 0}, {"budget.period"}),
            ({"period": 9}, {"budget.period"}),
            ({"start_date": None}, {"budget.start_date"}),
            ({"end_date": day(31)}, {"budget.end_date"}),
            ({"period": bpb.Budget.PERIOD_CUSTOM}, {"budget.end_date"}),
            (
                {"period": bpb.Budget.PERIOD_CUSTOM, "start_date": day(2), "end_date": day(1)},
                {"budget.end_date"},
            ),
            ({"rollover": 9}, {"budget.rollover"}),
            (
                {"repeating": False, "rollover": bpb.Budget.ROLLOVER_UNSPENT},
                {"budget.rollover"},
            ),
            ({"assignments": [assign(1, "food", 1)]}, {"budget.assignments"}),
        ],
    )
    async def test_rejects_invalid_fields(self, planner, food, fields, violations):
        budget = limits(line(food.name, 1), **{k: v for k, v in fields.items() if v is not None})
        for a in budget.assignments:
            a.category = food.name
        if "start_date" in fields and fields["start_date"] is None:
            budget.ClearField("start_date")
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.create(budget)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(field_violations(error.value)) == violations

    async def test_rejects_bad_lines(self, planner, food, categories):
        other = await create_category(categories, planner.user, "Other")
        budget = limits(
            line(food.name, -1),
            line(other.name, 1, "USD"),
            line(food.name, 2),
            line("nonsense", 1),
            bpb.Budget.Line(category=other.name),
        )
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.create(budget)
        assert set(field_violations(error.value)) == {
            "budget.lines[3].category",
            "budget.lines[4].amount",
        }
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.create(limits(*budget.lines[:3]))
        assert set(field_violations(error.value)) == {
            "budget.lines[0].amount",
            "budget.lines[1].amount.currency_code",
            "budget.lines[2].category",
        }

    async def test_envelopes_take_no_period_fields_and_months_from_the_start(self, planner, food):
        budget = envelopes(
            assign(12, food.name, 1, year=2023),
            assign(1, food.name, 1),
            assign(1, food.name, 2),
            period=bpb.Budget.PERIOD_MONTH,
            repeating=True,
            lines=[line(food.name, 1)],
            end_date=day(31),
            rollover=bpb.Budget.ROLLOVER_UNSPENT,
        )
        budget.assignments[1].month.day = 5
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.create(budget)
        assert set(field_violations(error.value)) == {"budget.assignments[1].month"}
        budget.assignments[1].month.day = 1
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.create(budget)
        assert set(field_violations(error.value)) == {
            "budget.period",
            "budget.end_date",
            "budget.repeating",
            "budget.rollover",
            "budget.lines",
            "budget.assignments[0].month",
            "budget.assignments[2]",
        }

    async def test_an_envelope_month_is_that_of_start_date(self, planner, food):
        budget = await planner.create(envelopes(assign(1, food.name, 5), start_date=day(15)))
        status = await planner.status(budget, day(1))
        assert (status.period_start_date, units(status.lines[0].assigned)) == (day(1), 500)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.status(budget, day(31, 12, 2023))
        assert set(field_violations(error.value)) == {"as_of_date"}

    @pytest.mark.parametrize(("field", "limit"), [("lines", 500), ("assignments", 5000)])
    async def test_at_most_so_many_lines_and_assignments(self, planner, food, field, limit):
        entry = line(food.name, 1) if field == "lines" else assign(1, food.name, 1)
        for count, too_many in ((limit, False), (limit + 1, True)):
            budget = limits() if field == "lines" else envelopes()
            getattr(budget, field).extend([entry] * count)
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await planner.create(budget)  # every entry after the first repeats it
            assert (f"budget.{field}" in field_violations(error.value)) is too_many


class TestUpdateAndDeleteBudget:
    async def test_update_replaces_lines_and_checks_the_etag(self, planner, food, categories):
        budget = await planner.create(limits(line(food.name, 1)))
        other = await create_category(categories, planner.user, "Other")
        change = bpb.Budget(name=budget.name, lines=[line(other.name, 5)], etag=budget.etag)
        mask = field_mask_pb2.FieldMask(paths=["lines"])
        updated = await planner.budgets.UpdateBudget(
            bpb.UpdateBudgetRequest(budget=change, update_mask=mask)
        )
        assert [e.category for e in updated.lines] == [other.name]
        assert updated.display_name == "Household"
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.budgets.UpdateBudget(
                bpb.UpdateBudgetRequest(budget=change, update_mask=mask)
            )
        assert error.value.code() == grpc.StatusCode.ABORTED

    async def test_update_keeps_the_budget_whole(self, planner, food):
        budget = await planner.create(limits(line(food.name, 1)))
        change = bpb.Budget(name=budget.name, period=bpb.Budget.PERIOD_CUSTOM)
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.budgets.UpdateBudget(
                bpb.UpdateBudgetRequest(
                    budget=change, update_mask=field_mask_pb2.FieldMask(paths=["period"])
                )
            )
        assert set(field_violations(error.value)) == {"budget.end_date"}

    async def test_style_and_currency_cannot_change(self, planner, food):
        budget = await planner.create(limits(line(food.name, 1)))
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.budgets.UpdateBudget(
                bpb.UpdateBudgetRequest(
                    budget=bpb.Budget(name=budget.name, currency_code="USD"),
                    update_mask=field_mask_pb2.FieldMask(paths=["currency_code"]),
                )
            )
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    async def test_delete_removes_it_and_is_audited(self, planner, food, audit):
        budget = await planner.create(limits(line(food.name, 1)))
        await planner.budgets.DeleteBudget(bpb.DeleteBudgetRequest(name=budget.name))
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.budgets.GetBudget(bpb.GetBudgetRequest(name=budget.name))
        assert error.value.code() == grpc.StatusCode.NOT_FOUND
        events = await audit.ListAuditEvents(
            aupb.ListAuditEventsRequest(parent=planner.user, filter=f'resource = "{budget.name}"')
        )
        assert [e.action for e in events.audit_events] == ["create", "delete"]

    async def test_a_category_a_budget_names_cannot_be_deleted(self, planner, food, categories):
        await planner.create(limits(line(food.name, 1)))
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await categories.DeleteCategory(cpb.DeleteCategoryRequest(name=food.name))
        assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    async def test_list_filters_by_style(self, planner, food):
        await planner.create(limits(line(food.name, 1)))
        kept = await planner.create(envelopes(assign(1, food.name, 1)))
        page = await planner.budgets.ListBudgets(
            bpb.ListBudgetsRequest(parent=planner.user, filter="style = STYLE_ENVELOPES")
        )
        assert [b.name for b in page.budgets] == [kept.name]
        assert page.budgets[0].assignments == kept.assignments


class TestPeriodLimitStatus:
    async def test_counts_the_first_and_last_day_of_the_period_and_not_the_next(
        self, planner, food, checking
    ):
        budget = await planner.create(limits(line(food.name, 100)))
        for on in (day(31, 12, 2023), day(1), day(31), day(1, 2)):
            await planner.spend(checking.name, food.name, money(on.day), on)
        status = await planner.status(budget, day(31))
        assert (status.period_start_date, status.period_end_date) == (day(1), day(31))
        [entry] = status.lines
        assert (entry.spent.units, entry.available.units, entry.over) == (32, 68, False)

    async def test_counts_spending_up_to_as_of_date_only(self, planner, food, checking):
        budget = await planner.create(limits(line(food.name, 10)))
        await planner.spend(checking.name, food.name, money(4), day(10))
        await planner.spend(checking.name, food.name, money(7), day(11))
        assert units((await planner.status(budget, day(10))).lines[0].spent) == 400
        status = await planner.status(budget, day(11))
        assert (units(status.lines[0].available), status.lines[0].over) == (-100, True)

    async def test_exactly_the_limit_is_not_over(self, planner, food, checking):
        budget = await planner.create(limits(line(food.name, 10)))
        await planner.spend(checking.name, food.name, money(10), day(5))
        [entry] = (await planner.status(budget, day(5))).lines
        assert (units(entry.available), entry.over) == (0, False)

    async def test_sub_categories_roll_up_to_the_nearest_line(
        self, planner, categories, food, checking
    ):
        groceries = await create_category(categories, planner.user, "Groceries", under=food.name)
        fruit = await create_category(categories, planner.user, "Fruit", under=groceries.name)
        bread = await create_category(categories, planner.user, "Bread", under=food.name)
        budget = await planner.create(limits(line(food.name, 100), line(groceries.name, 50)))
        await planner.spend(checking.name, fruit.name, money(3), day(2))
        await planner.spend(checking.name, groceries.name, money(5), day(2))
        await planner.spend(checking.name, bread.name, money(7), day(2))
        await planner.spend(checking.name, food.name, money(11), day(2))
        lines = by_category(await planner.status(budget, day(2)))
        assert lines[food.name].spent.units == 18
        assert lines[groceries.name].spent.units == 8

    async def test_reversals_net_out_and_pending_does_not_count(
        self, planner, food, checking, accounts, transactions
    ):
        budget = await planner.create(limits(line(food.name, 100)))
        spent = await planner.spend(checking.name, food.name, money(30), day(3))
        await planner.reverse(spent, day(4))
        await planner.spend(checking.name, food.name, money(5), day(4))
        own_expenses = await create_account(
            accounts, planner.user, display_name="Card fees", type=apb.Account.TYPE_EXPENSE
        )
        for state in (tpb.Transaction.STATE_PENDING, tpb.Transaction.STATE_POSTED):
            await transactions.CreateTransaction(
                tpb.CreateTransactionRequest(
                    parent=planner.user,
                    transaction=tpb.Transaction(
                        booking_date=day(4),
                        state=state,
                        postings=[
                            tpb.Posting(account=checking.name, amount=money(-2)),
                            tpb.Posting(
                                account=own_expenses.name, amount=money(2), category=food.name
                            ),
                        ],
                    ),
                )
            )
        [entry] = (await planner.status(budget, day(4))).lines
        assert entry.spent.units == 7

    @pytest.mark.parametrize(
        ("rollover", "available"),
        [
            (bpb.Budget.ROLLOVER_NONE, [4, -6, 10]),
            (bpb.Budget.ROLLOVER_UNSPENT, [4, -2, 10]),
            (bpb.Budget.ROLLOVER_UNSPENT_AND_OVERSPENT, [4, -2, 8]),
        ],
    )
    async def test_rollover(self, planner, food, checking, rollover, available):
        budget = await planner.create(limits(line(food.name, 10), rollover=rollover))
        await planner.spend(checking.name, food.name, money(6), day(31))
        await planner.spend(checking.name, food.name, money(16), day(1, 2))
        seen = [
            (await planner.status(budget, as_of)).lines[0].available.units
            for as_of in (day(31), day(29, 2), day(1, 3))
        ]
        assert seen == available

    async def test_weekly_yearly_and_custom_periods(self, planner, food):
        weekly = await planner.create(limits(line(food.name, 1), period=bpb.Budget.PERIOD_WEEK))
        status = await planner.status(weekly, day(15))
        assert (status.period_start_date, status.period_end_date) == (day(15), day(21))
        yearly = await planner.create(
            limits(line(food.name, 1), period=bpb.Budget.PERIOD_YEAR, start_date=day(29, 2))
        )
        status = await planner.status(yearly, day(27, 2, 2025))
        assert (status.period_start_date, status.period_end_date) == (
            day(29, 2),
            day(27, 2, 2025),
        )
        custom = await planner.create(
            limits(
                line(food.name, 1),
                period=bpb.Budget.PERIOD_CUSTOM,
                start_date=day(1),
                end_date=day(10),
            )
        )
        status = await planner.status(custom, day(11))
        assert (status.period_start_date, status.period_end_date) == (day(11), day(20))

    async def test_month_periods_keep_the_start_day(self, planner, food):
        budget = await planner.create(limits(line(food.name, 1), start_date=day(31)))
        status = await planner.status(budget, day(29, 2))
        assert (status.period_start_date, status.period_end_date) == (day(29, 2), day(30, 3))

    async def test_as_of_date_outside_the_periods_is_invalid(self, planner, food):
        once = await planner.create(limits(line(food.name, 1), repeating=False))
        await planner.status(once, day(31))
        for as_of in (day(31, 12, 2023), day(1, 2)):
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await planner.status(once, as_of)
            assert set(field_violations(error.value)) == {"as_of_date"}
        weekly = await planner.create(limits(line(food.name, 1), period=bpb.Budget.PERIOD_WEEK))
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.status(weekly, day(1, 1, 2200))
        assert set(field_violations(error.value)) == {"as_of_date"}

    async def test_a_bad_name_and_a_missing_day_are_both_reported(self, planner):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await planner.budgets.GetBudgetStatus(bpb.GetBudgetStatusRequest(name="budgets/x"))
        assert field_violations(error.value) == {
            "name": "'budgets/x' is not a resource name of the form users/{user}/budgets/{budget}",
            "as_of_date": "is required: a date with year, month and day",
        }


class TestConversion:
    async def test_converts_per_day_at_the_latest_rate_and_lists_missing_ones(
        self, planner, food, accounts, exchange_rates
    ):
        dollars = await create_account(accounts, planner.user, currency_code="USD")
        await exchange_rates.CreateExchangeRate(
            xpb.CreateExchangeRateRequest(
                parent=planner.user,
                exchange_rate=xpb.ExchangeRate(
                    base_currency_code="EUR",
                    quote_currency_code="USD",
                    rate_date=day(10),
                    rate=decimal_pb2.Decimal(value="2"),
                ),
            )
        )
        budget = await planner.create(limits(line(food.name, 100)))
        await planner.spend(dollars.name, food.name, money(3, "USD"), day(9))
        await planner.spend(dollars.name, food.name, money(5, "USD"), day(10))
        await planner.spend(dollars.name, food.name, money(1, "USD", nanos=10_000_000), day(12))
        status = await planner.status(budget, day(31))
        # 5 USD at 0.5 (the inverse of 2) and 1.01 USD rounded half to even: 2.50 + 0.50.
        assert units(status.lines[0].spent) == 300
        assert [r.name for r in status.exchange_rates] == [
            f"{planner.user}/exchangeRates/eur-usd-2024-01-10"
        ]
        missing = [
            (m.base_currency_code, m.quote_currency_code, m.date) for m in status.missing_rates
        ]
        assert missing == [("USD", "EUR", day(9))]

    async def test_converts_a_days_net_amount_once(self, planner, food, accounts, exchange_rates):
        dollars = await create_account(accounts, planner.user, currency_code="USD")
        await exchange_rates.CreateExchangeRate(
            xpb.CreateExchangeRateRequest(
                parent=planner.user,
                exchange_rate=xpb.ExchangeRate(
                    base_currency_code="USD",
                    quote_currency_code="EUR",
                    rate_date=day(1),
                    rate=decimal_pb2.Decimal(value="0.5"),
                ),
            )
        )
        budget = await planner.create(limits(line(food.name, 100)))
        for _ in range(2):
            await planner.spend(dollars.name, food.name, money(1, "USD", nanos=10_000_000), day(5))
        # 2.02 USD at 0.5 is 1.01 EUR; each 1.01 USD alone would round to 0.50.
        status = await planner.status(budget, day(5))
        assert units(status.lines[0].spent) == 101
        assert [r.name for r in status.exchange_rates] == [
            f"{planner.user}/exchangeRates/usd-eur-2024-01-01"
        ]


class TestEnvelopeStatus:
    async def test_leftovers_carry_and_overspending_comes_out_of_to_be_budgeted(
        self, planner, categories, food, checking
    ):
        salary = await create_category(categories, planner.user, "Salary", INCOME)
        rent = await create_category(categories, planner.user, "Rent")
        budget = await planner.create(
            envelopes(
                assign(1, food.name, 300), assign(1, rent.name, 500), assign(2, food.name, 100)
            )
        )
        await planner.earn(checking.name, salary.name, money(1000), day(1))
        await planner.spend(checking.name, food.name, money(250), day(20))
        await planner.spend(checking.name, rent.name, money(520), day(31))
        january = await planner.status(budget, day(31))
        assert (january.income.units, january.to_be_budgeted.units) == (1000, 200)
        lines = by_category(january)
        assert (lines[food.name].available.units, lines[rent.name].over) == (50, True)
        await planner.earn(checking.name, salary.name, money(10), day(1, 2))
        february = await planner.status(budget, day(1, 2))
        # 200 left, 10 earned, 100 assigned, 20 overspent on rent in January.
        assert (february.income.units, february.to_be_budgeted.units) == (10, 90)
        lines = by_category(february)
        food_line = lines[food.name]
        assert (food_line.carried_over.units, food_line.assigned.units) == (50, 100)
        assert food_line.available.units == 150
        assert (lines[rent.name].carried_over.units, lines[rent.name].available.units) == (0, 0)


class TestDeleteUserWithBudgets:
    async def test_without_force_a_budget_is_what_is_left(self, users, planner, user, food):
        await planner.create(limits(line(food.name, 1)))
        error = await rpc_error(
            users.DeleteUser(upb.DeleteUserRequest(name=user.name)),
            grpc.StatusCode.FAILED_PRECONDITION,
        )
        violation = unpack(error, error_details_pb2.PreconditionFailure).violations[0]
        assert violation.description.startswith("the user still has 1 category, 1 budget;")

    async def test_force_erases_budgets_with_their_lines(
        self, users, planner, user, food, database
    ):
        await planner.create(limits(line(food.name, 1)))
        await planner.create(envelopes(assign(1, food.name, 1)))
        await users.DeleteUser(upb.DeleteUserRequest(name=user.name, force=True))
        async with database.connection() as connection:
            for table in ("budgets", "budget_lines"):
                left = await connection.fetchval(
                    f"SELECT count(*) FROM {table} WHERE user_id = $1",
                    user.name.removeprefix("users/"),
                )
                assert left == 0, table
