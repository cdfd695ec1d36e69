"""What a budget counts, summed by the database: posted spending on expense accounts per budget
line and period (each posting toward the line of its category or of the nearest ancestor that
has one), and posted income per period."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import asyncpg

from service.domain.budget_periods import Span
from service.domain.keys import UserKey

# $1 user, $2 the categories of the budget's lines, $3/$4 the first and last day of each
# period, $5 the budget's currency. Amounts in the budget's currency are summed per line and
# period; others also per day, to be converted at that day's rate. Income rows have no line.
_TALLY = """
WITH RECURSIVE
lines AS (SELECT category_id FROM unnest($2::text[]) AS l(category_id)),
periods AS (
    SELECT start_date, end_date, index - 1 AS period
    FROM unnest($3::date[], $4::date[]) WITH ORDINALITY AS p(start_date, end_date, index)
),
-- Every category with each of its ancestors, nearest first; the depth bound guards the walk.
ancestry (category_id, ancestor_id, depth) AS (
    SELECT category_id, category_id, 0 FROM categories WHERE user_id = $1
  UNION ALL
    SELECT a.category_id, c.parent_category_id, a.depth + 1
    FROM ancestry a
    JOIN categories c ON c.user_id = $1 AND c.category_id = a.ancestor_id
    WHERE c.parent_category_id IS NOT NULL AND a.depth < 1000
),
counted AS (
    SELECT DISTINCT ON (a.category_id) a.category_id, a.ancestor_id AS line_category
    FROM ancestry a JOIN lines l ON l.category_id = a.ancestor_id
    ORDER BY a.category_id, a.depth
),
booked AS (
    SELECT CASE WHEN acc.type = 'expense' THEN counted.line_category END AS line_category,
           p.currency_code, p.booking_date,
           CASE WHEN acc.type = 'expense' THEN p.amount ELSE -p.amount END AS amount
    FROM postings p
    JOIN transactions t
      ON t.user_id = p.user_id AND t.transaction_id = p.transaction_id AND t.state = 'posted'
    JOIN accounts acc
      ON acc.user_id = p.user_id AND acc.account_id = p.account_id
    LEFT JOIN counted ON counted.category_id = p.category_id
    WHERE p.user_id = $1
      AND p.booking_date BETWEEN $6 AND $7
      AND ((acc.type = 'expense' AND counted.line_category IS NOT NULL)
           OR (acc.type = 'income' AND $8))
)
SELECT b.line_category, pr.period, b.currency_code,
       CASE WHEN b.currency_code = $5 THEN NULL ELSE b.booking_date END AS day,
       sum(b.amount) AS amount
FROM booked b
JOIN periods pr ON b.booking_date BETWEEN pr.start_date AND pr.end_date
GROUP BY 1, 2, 3, 4
"""


@dataclass(frozen=True)
class Booked:
    """A net amount of one currency counted toward one line (None: income) in one period;
    `day` is set for amounts in another currency than the budget's."""

    category_id: str | None
    period: int
    currency_code: str
    day: date | None
    amount: int


class BudgetSpendingRepository:
    """Sums of the postings a budget counts."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._connection = connection

    async def tally(
        self,
        owner: UserKey,
        *,
        line_categories: Sequence[str],
        spans: Sequence[Span],
        currency_code: str,
        with_income: bool,
    ) -> list[Booked]:
        """The net spending toward each line and (with `with_income`) the income, per period
        of `spans`, from posted transactions."""
        rows = await self._connection.fetch(
            _TALLY,
            owner.user_id,
            list(line_categories),
            [s.start for s in spans],
            [s.end for s in spans],
            currency_code,
            spans[0].start,
            spans[-1].end,
            with_income,
        )
        return [
            Booked(r["line_category"], r["period"], r["currency_code"], r["day"], int(r["amount"]))
            for r in rows
        ]
