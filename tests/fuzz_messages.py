"""Strategies for what has a meaning of its own beyond its fields: money, dates, timestamps,
update masks, balanced postings, and the filters and orderings a List call takes."""

from collections.abc import Callable
from typing import Any

from finance.v1 import transaction_service_pb2 as tpb
from google.api import field_behavior_pb2, resource_pb2
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.type import date_pb2, money_pb2
from hypothesis import strategies as st

from tests import fuzz_values as values


def _options(descriptor: FieldDescriptor | Descriptor) -> Any:
    # types-protobuf cannot type the google.api extensions in the options.
    return descriptor.GetOptions()


def behaviors(field: FieldDescriptor) -> set[int]:
    """The google.api.field_behavior of `field`."""
    return set(_options(field).Extensions[field_behavior_pb2.field_behavior])


def reference_type(field: FieldDescriptor) -> str:
    """The resource type `field` refers to (its google.api.resource_reference), or ''."""
    kind: str = _options(field).Extensions[resource_pb2.resource_reference].type
    return kind


def resource_type(message: Descriptor) -> str:
    """The resource type `message` is (its google.api.resource), or ''."""
    kind: str = _options(message).Extensions[resource_pb2.resource].type
    return kind


def _money(_: MethodDescriptor, tame: bool) -> st.SearchStrategy[Message]:
    parts = values.money_parts()
    if tame:
        parts = st.tuples(
            values.currency_code(tame=True),
            st.integers(1, 500),
            st.sampled_from([0, 0, 500_000_000]),
        )
    return parts.map(lambda p: money_pb2.Money(currency_code=p[0], units=p[1], nanos=p[2]))


def _date(_: MethodDescriptor, tame: bool) -> st.SearchStrategy[Message]:
    parts = values.IN_2024.map(lambda d: (d.year, d.month, d.day)) if tame else values.date_parts()
    return parts.map(lambda p: date_pb2.Date(year=p[0], month=p[1], day=p[2]))


def _timestamp(_: MethodDescriptor, tame: bool) -> st.SearchStrategy[Message]:
    parts = (
        st.tuples(st.integers(1_700_000_000, 1_800_000_000), st.just(0))
        if tame
        else values.timestamp_parts()
    )
    return parts.map(lambda p: timestamp_pb2.Timestamp(seconds=p[0], nanos=p[1]))


def _mask(method: MethodDescriptor, tame: bool) -> st.SearchStrategy[Message]:
    """Update masks over the fields of the resources in `method`'s request."""
    writable, every = [], ["*", "name", "etag", "update_mask", "postings[0].memo", "x.y", ""]
    for field in method.input_type.fields:
        resource = field.message_type
        if resource is not None and resource.full_name.startswith("finance.v1."):
            writable.extend(_paths(resource, writable=True))
            every.extend(_paths(resource, writable=False))
    if tame and writable:
        paths = st.one_of(
            st.lists(st.sampled_from(writable), min_size=1, max_size=3, unique=True),
            st.just(["*"]),
        )
    else:
        path = st.one_of(st.sampled_from(every), values.text())
        paths = st.lists(path, max_size=4)
    return paths.map(lambda p: field_mask_pb2.FieldMask(paths=p))


def _paths(message: Descriptor, *, writable: bool, prefix: str = "") -> list[str]:
    """The mask paths of `message`'s fields (if `writable`, those a client may change), with
    those of the messages of this API in it."""
    found = []
    for field in message.fields:
        fixed = {
            field_behavior_pb2.OUTPUT_ONLY,
            field_behavior_pb2.IDENTIFIER,
            field_behavior_pb2.IMMUTABLE,
        }
        if writable and (behaviors(field) & fixed or field.name == "etag"):
            continue
        found.append(prefix + field.name)
        nested = field.message_type
        if nested is not None and nested.full_name.startswith("finance.v1.") and not prefix:
            found.extend(_paths(nested, writable=writable, prefix=f"{field.name}."))
    return found


# Messages built from values rather than from their fields: (method, tame) -> strategy.
SPECIAL: dict[str, Callable[[MethodDescriptor, bool], st.SearchStrategy[Message]]] = {
    "google.type.Money": _money,
    "google.type.Date": _date,
    "google.protobuf.Timestamp": _timestamp,
    "google.protobuf.FieldMask": _mask,
}


def balanced_postings(
    accounts: list[tuple[str, str]], categories: st.SearchStrategy[str]
) -> st.SearchStrategy[list[Message]]:
    """Two postings that balance, between two of `accounts` (name, currency) in one currency,
    the second with a category drawn from `categories`."""

    @st.composite
    def build(draw: st.DrawFn) -> list[Message]:
        name, currency = draw(st.sampled_from(accounts))
        other = draw(st.sampled_from([n for n, c in accounts if c == currency]))
        units = draw(
            st.one_of(
                st.integers(1, 1000),
                st.integers(1, 1000),
                st.integers(1, 1000),
                st.sampled_from([10**15, 2**63 - 1]),
            )
        )
        category = draw(st.one_of(st.just(""), categories))
        memo = draw(st.one_of(st.just(""), values.text(tame=True)))
        amount = money_pb2.Money(currency_code=currency, units=units)
        return [
            tpb.Posting(account=name, amount=money_pb2.Money(currency_code=currency, units=-units)),
            tpb.Posting(account=other, category=category, memo=memo, amount=amount),
        ]

    return build()
