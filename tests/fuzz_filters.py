"""Filters (AIP-160) and orderings (AIP-132) for List calls: ones the listed resource's fields
suggest, and malformed, deeply nested, over-long or hostile ones."""

from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from hypothesis import strategies as st

from tests.fuzz_messages import reference_type
from tests.fuzz_values import IN_2024, text

# Fields some List call filters or orders on, and some none does.
LIST_FIELDS = [
    "display_name", "email", "currency_code", "type", "state", "kind", "parent", "create_time",
    "update_time", "system_managed", "booking_date", "amount", "description", "external_id",
    "account", "category", "payee", "tags", "resource", "action", "actor", "event_time",
    "name", "balance", "user_id", "1abc", "display_name.x",
]  # fmt: skip
_OPERATORS = ["=", "!=", "<", "<=", ">", ">=", ":", "==", "=~"]
_LITERALS = [
    "TYPE_ASSET", "STATE_POSTED", "STATE_PENDING", "KIND_EXPENSE", "true", "false", "1", "-1",
    "0.5", "1e400", "9223372036854775808", "2024-01-31", '"2024-01-31"', '"2024-02-30"',
    '"2024-01-01T00:00:00Z"', '"0001-01-01"', '"9999-12-31"', "NaN", "*", '""', "''",
    "1e100000", "-1e100000", "1e-100000", "1_000", "0x10", "Infinity", "-0",
    '"2024-01-01T00:00:00+23:59"', '"9999-12-31T23:59:59-23:59"', '"0001-01-01T00:00:00+01:00"',
    '"2024-01-01T24:00:00Z"', '"+12024-01-01"', '"2024-13-01"', '"\\u0000"', '"%_\\\\"',
]  # fmt: skip


# Literals for the fields that take numbers, dates and timestamps: in range, at its ends and
# past them (PostgreSQL's numeric holds 131072 digits before the point and 16383 after it).
_NUMBERS = st.one_of(
    st.sampled_from(["1e131071", "1e131072", "1e-16383", "1e-16384", "-1e100000", "1e-100000"]),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers().map(str),
)
_DATES = st.one_of(
    st.dates().map(lambda d: f'"{d.isoformat()}"'),
    st.sampled_from(['"0001-01-01"', '"9999-12-31"', '"2024-02-30"', '"+12024-01-01"', '"1"']),
)
_TIMESTAMPS = st.builds(
    lambda moment, offset: f'"{moment.isoformat()}{offset}"',
    st.datetimes(),
    st.sampled_from(["Z", "+00:00", "+23:59", "-23:59", "+05:30", "", "+24:00"]),
)
_TYPED = {
    "amount": _NUMBERS,
    "booking_date": _DATES,
    "create_time": _TIMESTAMPS,
    "update_time": _TIMESTAMPS,
    "event_time": _TIMESTAMPS,
}
_TYPED_COMPARISON = st.sampled_from(sorted(_TYPED)).flatmap(
    lambda f: st.builds(
        lambda op, v: f"{f} {op} {v}", st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), _TYPED[f]
    )
)


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _combined(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Filters joining those of `inner` with AND, OR, NOT, - and parentheses."""
    return st.one_of(
        st.builds(lambda a, b: f"{a} AND {b}", inner, inner),
        st.builds(lambda a, b: f"{a} OR {b}", inner, inner),
        inner.map(lambda a: f"NOT {a}"),
        inner.map(lambda a: f"-{a}"),
        inner.map(lambda a: f"({a})"),
    )


def filters(names: list[str]) -> st.SearchStrategy[str]:
    """AIP-160 filters: comparisons of list fields with literals, with `names` (resource
    names, the caller's and another user's) and with text, joined by AND, OR and NOT; and
    malformed, deeply nested, over-long or hostile ones."""
    value = st.one_of(
        st.sampled_from(_LITERALS), st.sampled_from(names).map(_quoted), text().map(_quoted)
    )
    comparison = st.builds(
        lambda f, op, v: f"{f} {op} {v}", st.sampled_from(LIST_FIELDS), st.sampled_from(_OPERATORS),
        value,
    )  # fmt: skip
    expression = st.recursive(comparison | _TYPED_COMPARISON, _combined, max_leaves=4)
    return st.one_of(
        st.just(""),
        expression,
        expression,
        st.integers(30, 40).map(lambda n: "(" * n + "amount > 1" + ")" * n),
        st.integers(30, 40).map(lambda n: "NOT " * n + "amount > 1"),
        st.sampled_from(["(", ")", "AND", "a =", '"unterminated', "amount > 1 amount < 2"]),
        st.integers(1990, 2010).map(lambda n: "a" * n),
        text(),
    )


def order_by() -> st.SearchStrategy[str]:
    """AIP-132 order_by: list fields with and without a direction, and malformed ones."""
    key = st.builds(
        lambda f, d: f + d,
        st.one_of(st.sampled_from(LIST_FIELDS), text()),
        st.sampled_from(["", "", " desc", " asc", " DESC", " up", " desc desc"]),
    )
    return st.one_of(
        st.just(""),
        st.lists(key, min_size=1, max_size=3).map(", ".join),
        st.sampled_from([",", " , ", "display_name,", "\x00"]),
        text(),
    )


def _listed(method: MethodDescriptor) -> Descriptor | None:
    """The resource a List method lists: its response's repeated message field."""
    for field in method.output_type.fields:
        if field.is_repeated and field.message_type is not None:
            return field.message_type
    return None


def _comparisons(field: FieldDescriptor, names: list[str]) -> list[st.SearchStrategy[str]]:
    """Filter terms on `field` that a List of its resources could take."""
    f, message = field.name, field.message_type
    if f in ("name", "etag"):
        return []
    if field.enum_type is not None:
        literals = [v.name for v in field.enum_type.values if v.number]
        return [st.sampled_from(literals).map(lambda v: f"{f} = {v}")]
    if message is not None and message.full_name == "google.protobuf.Timestamp":
        return [st.just(f'{f} > "2024-01-01T00:00:00Z"'), st.just(f'{f} <= "2030-01-01T00:00:00Z"')]
    if message is not None and message.full_name == "google.type.Date":
        return [IN_2024.map(lambda d: f'{f} >= "{d.isoformat()}"')]
    if message is not None and message.full_name == "google.type.Money":
        return [st.integers(0, 100).map(lambda n: f"{f} > {n}")]
    if field.type == FieldDescriptor.TYPE_BOOL:
        return [st.sampled_from([f"{f} = true", f"{f} = false"])]
    if field.type != FieldDescriptor.TYPE_STRING:
        return []
    if reference_type(field) and names:
        return [st.sampled_from(names).map(lambda n: f'{f} = "{n}"')]
    plain = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=8)
    return [plain.map(lambda v: f'{f} = "{v}"'), plain.map(lambda v: f'{f}:"{v}"')]


def tame_filters(method: MethodDescriptor, names: list[str]) -> st.SearchStrategy[str]:
    """Filters on the fields of the resource `method` lists, comparing names with `names`, and
    on the number, date and timestamp fields Lists take."""
    resource = _listed(method)
    terms = [t for f in resource.fields for t in _comparisons(f, names)] if resource else []
    if not terms:
        return st.just("")
    term = st.one_of(terms)
    joined = st.builds(lambda a, op, b: f"{a} {op} {b}", term, st.sampled_from(["AND", "OR"]), term)
    return st.one_of(st.just(""), term, _TYPED_COMPARISON, _TYPED_COMPARISON, joined)


def _sortable(field: FieldDescriptor) -> bool:
    if field.is_repeated or field.name in ("name", "etag"):
        return False
    if field.message_type is not None:
        return field.message_type.full_name in ("google.protobuf.Timestamp", "google.type.Date")
    return field.type == FieldDescriptor.TYPE_STRING and not reference_type(field)


def tame_order_by(method: MethodDescriptor) -> st.SearchStrategy[str]:
    """An ordering by one of the plain fields of the resource `method` lists."""
    resource = _listed(method)
    sortable = [f.name for f in (resource.fields if resource else []) if _sortable(f)]
    if not sortable:
        return st.just("")
    key = st.builds(lambda f, d: f + d, st.sampled_from(sortable), st.sampled_from(["", " desc"]))
    return st.one_of(st.just(""), key)
