"""SQL for List calls: AIP-160 filters and keyset pagination over whitelisted columns.

Only column names declared in a `Listing` ever reach the SQL text; every value is a parameter.
"""

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg

from service.domain.errors import InvalidArgument, excerpt
from service.domain.filter_syntax import And, Comparison, Expression, Not, Or
from service.domain.listing import Cursor, ListQuery, OrderKey


class Kind(enum.Enum):
    """How a field's filter values are read and compared."""

    TEXT = "text"
    TIMESTAMP = "timestamp"
    DATE = "date"
    NUMBER = "number"
    INTEGER = "integer"
    ENUM = "enum"
    # Filter-only fields whose SQL a `Field.compile` function writes.
    CUSTOM = "custom"


# Adds a value as a query parameter and returns its placeholder ($n).
AddParam = Callable[[object], str]


_SQL_OPS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass(frozen=True)
class Field:
    """A field a List call can filter or order on; ENUM fields map API names to stored values."""

    column: str
    kind: Kind
    enum_values: Mapping[str, str] = field(default_factory=dict)
    compile: Callable[[Comparison, AddParam], str] | None = None


@dataclass(frozen=True)
class Listing:
    """The filterable and sortable fields of one collection, and its unique tiebreak column."""

    fields: Mapping[str, Field]
    id_column: str
    default_order: tuple[OrderKey, ...]
    id_kind: Kind = Kind.TEXT

    def sql(self, query: ListQuery, params: list[Any]) -> tuple[str, str]:
        """The WHERE conditions (joined with AND, may be empty) and ORDER BY for `query`.

        Appends the parameters the conditions use to `params`.
        """
        conditions = []
        if query.filter is not None:
            conditions.append(_Compiler(self.fields, params).compile(query.filter))
        order = self._order(query.order_by)
        if query.after is not None:
            conditions.append(self._after(order, query.after, params))
        order_sql = ", ".join(f"{column} {'DESC' if desc else 'ASC'}" for column, _, desc in order)
        return " AND ".join(conditions), order_sql

    def cursor(self, query: ListQuery, row: Mapping[str, Any] | asyncpg.Record) -> Cursor:
        """The cursor that starts the page after `row`."""
        return tuple(row[column] for column, _, _ in self._order(query.order_by))

    def _order(self, keys: tuple[OrderKey, ...]) -> list[tuple[str, Kind, bool]]:
        order: list[tuple[str, Kind, bool]] = []
        for key in keys or self.default_order:
            spec = self.fields.get(key.field)
            if spec is None or spec.kind in (Kind.ENUM, Kind.CUSTOM):
                raise InvalidArgument.single(
                    "order_by",
                    f"cannot order by {excerpt(key.field)}; use one of {self._sortable()}",
                )
            order.append((spec.column, spec.kind, key.descending))
        # The tiebreak follows the last key's direction, so that one index scan serves the order.
        order.append((self.id_column, self.id_kind, order[-1][2] if order else False))
        return order

    def _sortable(self) -> str:
        unsortable = (Kind.ENUM, Kind.CUSTOM)
        return ", ".join(n for n, spec in self.fields.items() if spec.kind not in unsortable)

    def _after(self, order: list[tuple[str, Kind, bool]], after: Cursor, params: list[Any]) -> str:
        """Rows strictly after `after` in `order`: (a > x) OR (a = x AND b > y) OR ..."""
        if len(after) != len(order) or not all(
            _valid_cursor_value(kind, value)
            for (_, kind, _), value in zip(order, after, strict=False)
        ):
            raise InvalidArgument.single("page_token", "page token is malformed")
        placeholders = []
        for value in after:
            params.append(value)
            placeholders.append(f"${len(params)}")
        if len({descending for _, _, descending in order}) == 1:
            # One direction: a row comparison, which an index on the same columns can seek to.
            columns = ", ".join(column for column, _, _ in order)
            return f"(({columns}) {'<' if order[0][2] else '>'} ({', '.join(placeholders)}))"
        alternatives = []
        for i, (column, _, descending) in enumerate(order):
            equal = [f"{order[j][0]} = {placeholders[j]}" for j in range(i)]
            comparison = f"{column} {'<' if descending else '>'} {placeholders[i]}"
            alternatives.append("(" + " AND ".join([*equal, comparison]) + ")")
        return "(" + " OR ".join(alternatives) + ")"


_CURSOR_TYPES: dict[Kind, type] = {
    Kind.TIMESTAMP: datetime,
    Kind.DATE: date,
    Kind.NUMBER: Decimal,
    Kind.INTEGER: int,
    Kind.TEXT: str,
}


def _valid_cursor_value(kind: Kind, value: object) -> bool:
    return isinstance(value, _CURSOR_TYPES[kind])


class _Compiler:
    """Turns a filter syntax tree into SQL over the declared fields."""

    def __init__(self, fields: Mapping[str, Field], params: list[Any]) -> None:
        self._fields = fields
        self._params = params

    def compile(self, expression: Expression) -> str:
        match expression:
            case And(terms):
                return "(" + " AND ".join(self.compile(t) for t in terms) + ")"
            case Or(terms):
                return "(" + " OR ".join(self.compile(t) for t in terms) + ")"
            case Not(term):
                return f"(NOT {self.compile(term)})"
            case Comparison():
                return self._comparison(expression)

    def _param(self, value: object) -> str:
        self._params.append(value)
        return f"${len(self._params)}"

    def _comparison(self, c: Comparison) -> str:
        spec = self._fields.get(c.field)
        if spec is None:
            known = ", ".join(self._fields)
            raise _invalid(f"unknown field {excerpt(c.field)}; filter on one of {known}")
        if spec.kind is Kind.ENUM:
            return self._enum(spec, c)
        if spec.compile is not None:
            return spec.compile(c, self._param)
        if c.op == ":":
            if spec.kind is not Kind.TEXT:
                raise _invalid(f"':' applies to text fields, not {c.field!r}")
            escaped = c.value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            return f"{spec.column} ILIKE {self._param('%' + escaped + '%')}"
        value: object = c.value
        if spec.kind is Kind.TIMESTAMP:
            value = _timestamp(c)
        elif spec.kind is Kind.DATE:
            value = _date(c)
        elif spec.kind is Kind.NUMBER:
            value = _number(c)
        return f"{spec.column} {_SQL_OPS[c.op]} {self._param(value)}"

    def _enum(self, spec: Field, c: Comparison) -> str:
        if c.op not in ("=", "!="):
            raise _invalid(f"{c.field!r} takes only = and !=")
        stored = spec.enum_values.get(c.value)
        if stored is None:
            allowed = ", ".join(spec.enum_values)
            raise _invalid(
                f"{excerpt(c.value)} is not a value of {c.field!r}; use one of {allowed}"
            )
        return f"{spec.column} {_SQL_OPS[c.op]} {self._param(stored)}"


def _timestamp(c: Comparison) -> datetime:
    try:
        value = datetime.fromisoformat(c.value)
    except ValueError:
        raise _invalid(
            f'{c.field!r} takes an RFC 3339 timestamp such as "2024-01-31T00:00:00Z"'
        ) from None
    if value.tzinfo is None:
        raise _invalid(f"timestamp for {c.field!r} needs a time zone offset, such as Z")
    try:
        # asyncpg sends the value in UTC, which must stay within the years 1 to 9999 too.
        value.astimezone(UTC)
    except OverflowError:
        raise _invalid(f"timestamp for {c.field!r} is out of range") from None
    return value


def _date(c: Comparison) -> date:
    try:
        return date.fromisoformat(c.value)
    except ValueError:
        raise _invalid(f'{c.field!r} takes a date such as "2024-01-31"') from None


# The most digits PostgreSQL's numeric holds before the decimal point and after it.
_NUMERIC_DIGITS = (131072, 16383)


def _number(c: Comparison) -> Decimal:
    try:
        value = Decimal(c.value)
    except InvalidOperation:
        raise _invalid(f"{c.field!r} takes a decimal number such as 12.50") from None
    if not value.is_finite():
        raise _invalid(f"{c.field!r} takes a finite number")
    before, after = _NUMERIC_DIGITS
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite number's is
    if value.adjusted() >= before or -exponent > after:
        raise _invalid(
            f"{c.field!r} takes a number of at most {before} digits before the point"
            f" and {after} after it"
        )
    return value


def invalid_filter(description: str) -> InvalidArgument:
    """The error for a filter that cannot be applied."""
    return _invalid(description)


def _invalid(description: str) -> InvalidArgument:
    return InvalidArgument.single("filter", f"invalid filter: {description}")
