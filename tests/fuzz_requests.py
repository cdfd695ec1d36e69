"""Requests for every RPC of the finance.v1 services, built from the message descriptors: each
field filled by its type, its name and its resource annotations, with resource names drawn from
the caller's books, from another user's and from nowhere.

Each request has a mode: the share of its fields drawn from everything a field could hold
(hostile text, extreme numbers, malformed names) rather than from values the service would
take, and the share of its resource names that stray from the caller's resources (to another
user's, or to none). Tame requests reach the database and the ledger's rules, wild ones the
validation, straying ones the tenant conditions, and the ones in between all of them.
"""

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import finance.v1
from google.api import field_behavior_pb2
from google.protobuf import message_factory
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)
from google.protobuf.message import Message
from hypothesis import strategies as st

from tests import fuzz_values as values
from tests.fuzz_filters import filters, order_by, tame_filters, tame_order_by
from tests.fuzz_messages import (
    SPECIAL,
    balanced_postings,
    behaviors,
)
from tests.fuzz_names import REFERENCE, Names, Pools, name_role

MAX_DEPTH = 4
# (percent of wild fields, percent of straying names) of a request.
Mode = tuple[int, int]
MODES: tuple[Mode, ...] = ((0, 0), (0, 0), (0, 100), (10, 30), (30, 10), (100, 0))


def services() -> list[ServiceDescriptor]:
    """Every service of every finance.v1 proto file, so that a new one is fuzzed too."""
    found = []
    for module in pkgutil.iter_modules(finance.v1.__path__):
        if module.name.endswith("_pb2"):
            file = importlib.import_module(f"finance.v1.{module.name}").DESCRIPTOR
            found.extend(file.services_by_name.values())
    return sorted(found, key=lambda s: s.full_name)


def methods() -> list[MethodDescriptor]:
    """Every RPC of every finance.v1 service."""
    return [method for service in services() for method in service.methods]


class Requests:
    """Hypothesis strategies for the requests of each RPC, over one set of pools."""

    def __init__(self, pools: Pools) -> None:
        self.pools = pools
        self.names = Names(pools)
        self._cache: dict[str, st.SearchStrategy[Message]] = {}

    def of(self, method: MethodDescriptor) -> st.SearchStrategy[Message]:
        """Requests of `method`, of every mode."""
        if method.full_name not in self._cache:
            trees = {m: self._message(method.input_type, method, 0, m) for m in set(MODES)}
            self._cache[method.full_name] = st.sampled_from(MODES).flatmap(trees.__getitem__)
        return self._cache[method.full_name]

    def _message(
        self, descriptor: Descriptor, method: MethodDescriptor, depth: int, mode: Mode
    ) -> st.SearchStrategy[Message]:
        cls = message_factory.GetMessageClass(descriptor)
        if depth >= MAX_DEPTH:
            return st.builds(cls)
        fields = [
            (
                f,
                self._field(f, method, depth, mode),
                self._field(f, method, depth, None),
                self.names.stray(f),
            )
            for f in descriptor.fields
        ]

        @st.composite
        def build(draw: st.DrawFn) -> Message:
            message = cls()
            for field, tame, wild, stray in fields:
                is_wild = draw(st.integers(0, 99)) < mode[0]
                if draw(st.integers(0, 9)) >= _presence(field, tame=not is_wild):
                    continue
                strategy = wild if is_wild else tame
                if stray is not None and not is_wild and draw(st.integers(0, 99)) < mode[1]:
                    strategy = stray
                _set(message, field, draw(strategy))
            return message

        return build()

    def _field(
        self, field: FieldDescriptor, method: MethodDescriptor, depth: int, mode: Mode | None
    ) -> st.SearchStrategy[Any]:
        """Values of `field`: tame ones in `mode` (its nested messages too), or wild ones."""
        tame = mode is not None
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = (field.message_type.fields_by_name[n] for n in ("key", "value"))
            return st.dictionaries(
                self._single(key, method, depth + 1, mode),
                self._single(value, method, depth + 1, mode),
                max_size=3,
            )
        if field.is_repeated:
            single = st.lists(self._single(field, method, depth, mode), max_size=4)
            if field.full_name == "finance.v1.Transaction.postings":
                postings = balanced_postings(
                    self.pools.accounts,
                    self.names.of("finance-tracker/Category", REFERENCE, tame=tame),
                )
                return postings if tame else st.one_of(postings, single)
            return single
        return self._single(field, method, depth, mode)

    def _single(
        self, field: FieldDescriptor, method: MethodDescriptor, depth: int, mode: Mode | None
    ) -> st.SearchStrategy[Any]:
        tame = mode is not None
        role = name_role(field)
        if role is not None:
            return self.names.of(*role, tame=tame)
        by_name = self._by_name(field, method, tame=tame)
        if by_name is not None:
            return by_name
        if field.message_type is not None:
            special = SPECIAL.get(field.message_type.full_name)
            if special is not None:
                return special(method, tame)
            return self._message(field.message_type, method, depth + 1, mode or (100, 0))
        if field.enum_type is not None:
            numbers = [v.number for v in field.enum_type.values]
            if tame:
                return st.sampled_from([n for n in numbers if n] or numbers)
            return values.enum_number(numbers)
        return values.SCALARS[field.type](tame)

    def _by_name(
        self, field: FieldDescriptor, method: MethodDescriptor, *, tame: bool
    ) -> st.SearchStrategy[Any] | None:
        """Fields whose name says more than their type."""
        if field.type != FieldDescriptor.TYPE_STRING and field.name != "page_size":
            return None
        p, m = self.pools, method.full_name
        tokens = p.page_tokens.get(m, [])
        makers: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
            "request_id": lambda: values.request_id(p.request_ids, tame=tame),
            "page_token": lambda: values.page_token(
                tokens if tame else tokens + p.foreign_page_tokens.get(m, []), tame=tame
            ),
            "page_size": lambda: st.integers(0, 100) if tame else values.int32((-2, 1001)),
            "filter": lambda: (
                tame_filters(method, self.names.own()) if tame else filters(self.names.every())
            ),
            "order_by": lambda: tame_order_by(method) if tame else order_by(),
            "etag": lambda: values.etag(p.etags, tame=tame),
            "currency_code": lambda: values.currency_code(tame=tame),
            "email": lambda: values.email(tame=tame),
            "user_id": lambda: values.user_id(p.user_ids, tame=tame),
        }
        make = makers.get(field.name)
        return None if make is None else make()


def _presence(field: FieldDescriptor, *, tame: bool) -> int:
    """In how many of ten requests `field` is set: required fields and names most of the time
    (always in tame ones), output-only ones seldom."""
    found = behaviors(field)
    if found & {field_behavior_pb2.REQUIRED, field_behavior_pb2.IDENTIFIER}:
        return 10 if tame else 8
    if field_behavior_pb2.OUTPUT_ONLY in found:
        return 1 if tame else 3
    return 5


def _set(message: Message, field: FieldDescriptor, value: Any) -> None:
    """Set `field` of `message` to `value`, as protobuf wants each kind of field set."""
    target = getattr(message, field.name)
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, Message):
                target[key].CopyFrom(item)
            else:
                target[key] = item
    elif isinstance(value, list):
        target.extend(value)
    elif isinstance(value, Message):
        target.CopyFrom(value)
    else:
        setattr(message, field.name, value)
