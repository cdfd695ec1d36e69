"""The SQL of each report: one statement that aggregates the postings of a user's posted
transactions in a period (those a ListTransactions filter matches) by category, month, day,
account or payee."""

from collections.abc import Sequence
from datetime import date
from typing import Any

from service.domain.categories import CategoryKind
from service.domain.models import AccountType
from service.domain.reports import ReportScope
from service.repositories.transaction_filters import TRANSACTION_LISTING

# The transactions as the ListTransactions filter sees them (the same columns and names).
_TRANSACTIONS = """
(SELECT user_id, transaction_id, booking_date, description, payee_id, tags,
        COALESCE(external_id, '') AS external_id, state, amount, create_time
 FROM transactions) AS tx
"""

# The accounts each kind of category report reads, and the sign that makes its amounts
# positive: debits to expense accounts are spending, credits to income accounts are income.
_CATEGORY_SIDE = {
    CategoryKind.EXPENSE: (AccountType.EXPENSE, ""),
    CategoryKind.INCOME: (AccountType.INCOME, "-"),
}
_HOLDINGS = (AccountType.ASSET, AccountType.LIABILITY)


class _Statement:
    """The parameters of one statement, added as the SQL text is written."""

    def __init__(self) -> None:
        self.params: list[Any] = []

    def param(self, value: object) -> str:
        """Add `value`; its placeholder."""
        self.params.append(value)
        return f"${len(self.params)}"

    def postings(
        self, scope: ReportScope, types: Sequence[AccountType], *, from_start: bool = True
    ) -> str:
        """FROM and WHERE of the postings `p` (with their account `a` and transaction `t`)
        to accounts of `types` in the scope's posted transactions: those booked in its period,
        or up to its end unless `from_start`."""
        user = self.param(scope.owner.user_id)
        conditions = [f"tx.user_id = {user}", "tx.state = 'posted'"]
        if from_start:
            conditions.append(f"tx.booking_date >= {self.param(scope.start)}")
        conditions.append(f"tx.booking_date <= {self.param(scope.end)}")
        if scope.filter is not None:
            conditions.append(TRANSACTION_LISTING.where(scope.filter, self.params))
        kinds = ", ".join(self.param(t.value) for t in types)
        return f"""
postings p
JOIN accounts a ON a.user_id = p.user_id AND a.account_id = p.account_id
JOIN (SELECT tx.user_id, tx.transaction_id, tx.payee_id FROM {_TRANSACTIONS}
      WHERE {" AND ".join(conditions)}) AS t
  ON t.user_id = p.user_id AND t.transaction_id = p.transaction_id
WHERE p.user_id = {user} AND a.type IN ({kinds})"""


def category_sql(scope: ReportScope, kind: CategoryKind) -> tuple[str, list[Any]]:
    """Each category's own amount and its subtree's, per currency: the tree walked up from
    the categories booked to, by a recursive CTE."""
    s = _Statement()
    account_type, sign = _CATEGORY_SIDE[kind]
    counted = s.postings(scope, [account_type])
    user = s.param(scope.owner.user_id)
    sql = f"""
WITH RECURSIVE own AS (
    SELECT p.category_id, p.currency_code, {sign}sum(p.amount) AS amount
    FROM {counted}
    GROUP BY p.category_id, p.currency_code
), tree AS (
    SELECT DISTINCT category_id, category_id AS ancestor_id FROM own
    WHERE category_id IS NOT NULL
    UNION
    SELECT tree.category_id, c.parent_category_id FROM tree
    JOIN categories c ON c.user_id = {user} AND c.category_id = tree.ancestor_id
    WHERE c.parent_category_id IS NOT NULL
), rolled AS (
    SELECT tree.ancestor_id AS category_id, own.currency_code,
           sum(own.amount) FILTER (WHERE tree.category_id = tree.ancestor_id) AS own_amount,
           sum(own.amount) AS total_amount
    FROM own JOIN tree ON tree.category_id = own.category_id
    GROUP BY tree.ancestor_id, own.currency_code
    UNION ALL
    SELECT NULL, currency_code, amount, amount FROM own WHERE category_id IS NULL
)
SELECT r.category_id, c.parent_category_id, r.currency_code,
       COALESCE(r.own_amount, 0) AS own_amount, r.total_amount
FROM rolled r
LEFT JOIN categories c ON c.user_id = {user} AND c.category_id = r.category_id
ORDER BY r.currency_code, r.category_id NULLS LAST
"""
    return sql, s.params


def income_expense_sql(scope: ReportScope) -> tuple[str, list[Any]]:
    """Income and expense per month (generate_series) and currency."""
    s = _Statement()
    counted = s.postings(scope, [AccountType.INCOME, AccountType.EXPENSE])
    income = s.param(AccountType.INCOME.value)
    start, end = s.param(scope.start), s.param(scope.end)
    sql = f"""
WITH sums AS (
    SELECT date_trunc('month', p.booking_date::timestamp)::date AS month, p.currency_code,
           -sum(p.amount) FILTER (WHERE a.type = {income}) AS income,
           sum(p.amount) FILTER (WHERE a.type <> {income}) AS expense
    FROM {counted}
    GROUP BY 1, 2
)
SELECT m.month::date AS month, c.currency_code,
       COALESCE(s.income, 0) AS income, COALESCE(s.expense, 0) AS expense
FROM generate_series(date_trunc('month', {start}::date::timestamp), {end}::date::timestamp,
                     interval '1 month') AS m(month)
CROSS JOIN (SELECT DISTINCT currency_code FROM sums) AS c
LEFT JOIN sums s ON s.month = m.month::date AND s.currency_code = c.currency_code
ORDER BY 1, 2
"""
    return sql, s.params


def net_worth_sql(scope: ReportScope, points: Sequence[date]) -> tuple[str, list[Any]]:
    """The balance of asset and liability accounts per currency on each of `points` (in
    order, the last the scope's end): each day's movements added to the first point on or
    after it, then a running sum over the points."""
    s = _Statement()
    counted = s.postings(scope, _HOLDINGS, from_start=False)
    days = s.param(list(points))
    sql = f"""
WITH moves AS (
    SELECT p.currency_code, p.booking_date AS day, sum(p.amount) AS amount
    FROM {counted}
    GROUP BY 1, 2
), points AS (
    SELECT unnest({days}::date[]) AS day
), bucketed AS (
    SELECT m.currency_code, (SELECT min(pt.day) FROM points pt WHERE pt.day >= m.day) AS point,
           sum(m.amount) AS amount
    FROM moves m
    GROUP BY 1, 2
)
SELECT day, currency_code, balance FROM (
    SELECT pt.day, c.currency_code,
           sum(COALESCE(b.amount, 0)) OVER (PARTITION BY c.currency_code ORDER BY pt.day)
               AS balance
    FROM points pt
    CROSS JOIN (SELECT DISTINCT currency_code FROM moves) AS c
    LEFT JOIN bucketed b ON b.point = pt.day AND b.currency_code = c.currency_code
) AS running
WHERE balance <> 0
ORDER BY day, currency_code
"""
    return sql, s.params


def cash_flow_sql(scope: ReportScope) -> tuple[str, list[Any]]:
    """Money into and out of each asset and liability account."""
    s = _Statement()
    counted = s.postings(scope, _HOLDINGS)
    sql = f"""
SELECT p.account_id, p.currency_code,
       COALESCE(sum(p.amount) FILTER (WHERE p.amount > 0), 0) AS inflow,
       COALESCE(-sum(p.amount) FILTER (WHERE p.amount < 0), 0) AS outflow
FROM {counted}
GROUP BY p.account_id, p.currency_code
ORDER BY p.account_id
"""
    return sql, s.params


def top_payees_sql(scope: ReportScope, limit: int) -> tuple[str, list[Any]]:
    """The `limit` payees with the most spending in each currency (row_number per currency);
    a transaction with negative spending (a reversal) takes one off the payee's count."""
    s = _Statement()
    counted = s.postings(scope, [AccountType.EXPENSE])
    top = s.param(limit)
    sql = f"""
WITH spent AS (
    SELECT t.payee_id, p.currency_code, p.transaction_id, sum(p.amount) AS amount
    FROM {counted} AND t.payee_id IS NOT NULL
    GROUP BY t.payee_id, p.currency_code, p.transaction_id
), by_payee AS (
    SELECT payee_id, currency_code, sum(amount) AS spending,
           count(*) FILTER (WHERE amount > 0) - count(*) FILTER (WHERE amount < 0)
               AS transactions
    FROM spent
    GROUP BY payee_id, currency_code
    HAVING sum(amount) > 0
)
SELECT payee_id, currency_code, spending, transactions FROM (
    SELECT by_payee.*, row_number() OVER (
        PARTITION BY currency_code ORDER BY spending DESC, payee_id) AS rank
    FROM by_payee
) AS ranked
WHERE rank <= {top}
ORDER BY currency_code, spending DESC, payee_id
"""
    return sql, s.params
