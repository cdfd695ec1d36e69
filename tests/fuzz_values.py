"""Hypothesis strategies for the values of request fields: valid ones, nearly valid ones and
hostile ones (control characters, bidirectional overrides, huge strings, extreme numbers)."""

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from hypothesis import strategies as st

# Characters text fields refuse or handle specially: NUL, C0 and C1 controls, DEL, ESC,
# bidirectional embeddings, overrides and isolates, zero-width and byte-order marks, a
# replacement character, a combining mark and one outside the Basic Multilingual Plane.
HOSTILE_CHARACTERS = (
    "\x00\x01\x07\x08\t\n\x0b\r\x1b\x7f\x80\x85\x9b\x9f"
    "\u200b\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    "\u2028\u2029\ufeff\ufffd\u0301\U0001f4b6"
)
# Days of one leap year: the books' transactions fall in its January.
IN_2024 = st.dates(date(2024, 1, 1), date(2024, 12, 31))
# Any character protobuf can carry in a string: UTF-8 has no surrogates.
_ANY_CHARACTER = st.characters(codec="utf-8")
_PLAIN = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "Zs", "Pd", "Po")), min_size=1, max_size=24
)
_LONG = st.builds(
    lambda char, size: char * size,
    st.sampled_from(["a", "é", "€", "\U0001f4b6", "\x00", " "]),
    st.sampled_from([51, 64, 65, 201, 501, 2001, 4097, 70_000]),
)


def text(*, tame: bool = False) -> st.SearchStrategy[str]:
    """Free text: short and plain when `tame`, else also empty, blank, hostile, non-ASCII or
    long."""
    if tame:
        return _PLAIN
    return st.one_of(
        _PLAIN,
        _PLAIN,
        st.sampled_from(["", " ", "  padded  ", "\x1b[31mred\x1b[0m", "a\u202eb", "Ünïcödé €"]),
        st.text(st.sampled_from(HOSTILE_CHARACTERS) | _ANY_CHARACTER, max_size=30),
        st.text(_ANY_CHARACTER, max_size=60),
        _LONG,
    )


def _bounded(low: int, high: int, plausible: tuple[int, int]) -> st.SearchStrategy[int]:
    edges = [v for v in (0, 1, -1, low, high, low + 1, high - 1) if low <= v <= high]
    return st.one_of(
        st.integers(max(low, plausible[0]), min(high, plausible[1])),
        st.sampled_from(edges),
        st.integers(low, high),
    )


INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT32 = (0, 2**32 - 1)
UINT64 = (0, 2**64 - 1)


def int32(plausible: tuple[int, int] = (-5, 100)) -> st.SearchStrategy[int]:
    """An int32: `plausible` ones, the edges of the type, or any."""
    return _bounded(*INT32, plausible)


def int64(plausible: tuple[int, int] = (-5, 100)) -> st.SearchStrategy[int]:
    """An int64: `plausible` ones, the edges of the type, or any."""
    return _bounded(*INT64, plausible)


def uint32() -> st.SearchStrategy[int]:
    """A uint32, edges included."""
    return _bounded(*UINT32, (0, 100))


def uint64() -> st.SearchStrategy[int]:
    """A uint64, edges included."""
    return _bounded(*UINT64, (0, 100))


def enum_number(numbers: list[int]) -> st.SearchStrategy[int]:
    """One of an enum's `numbers`, or a number it does not define (proto3 enums are open)."""
    return st.one_of(st.sampled_from(numbers), st.sampled_from(numbers), int32((-3, 20)))


def currency_code(*, tame: bool = False) -> st.SearchStrategy[str]:
    """An ISO 4217 code the books use; unless `tame`, also another one, a malformed one or any
    text."""
    if tame:
        return st.sampled_from(["EUR", "EUR", "EUR", "USD", "JPY"])
    return st.one_of(
        st.sampled_from(["EUR", "EUR", "USD", "JPY"]),
        st.sampled_from(["", "GBP", "CHF", "BHD", "XXX", "XTS", "XAU", "eur", "EUX", "EURO", "E"]),
        text(),
    )


# Nanos of a google.type.Money: the valid range is -999,999,999..999,999,999.
_NANOS = st.one_of(
    st.sampled_from([0, 0, 500_000_000, 1, 999_999_999, -999_999_999, -1]),
    st.sampled_from([1_000_000_000, -1_000_000_000]),
    int32(),
)


def money_parts() -> st.SearchStrategy[tuple[str, int, int]]:
    """(currency_code, units, nanos) of a google.type.Money."""
    return st.tuples(currency_code(), int64((-20, 500)), _NANOS)


def date_parts() -> st.SearchStrategy[tuple[int, int, int]]:
    """(year, month, day) of a google.type.Date: calendar days of 2023..2025, the first and
    last day there is, and days that are none (30 February, month 13, year 0, negative)."""
    return st.one_of(
        st.dates().filter(lambda d: 2023 <= d.year <= 2025).map(lambda d: (d.year, d.month, d.day)),
        st.sampled_from(
            [(1, 1, 1), (9999, 12, 31), (2024, 2, 29), (2023, 2, 29), (2024, 2, 30), (2024, 4, 31)]
        ),
        st.sampled_from([(0, 0, 0), (2024, 0, 0), (2024, 13, 1), (2024, 1, 32), (10000, 1, 1)]),
        st.tuples(int32((-1, 10001)), int32((-1, 14)), int32((-1, 33))),
    )


def timestamp_parts() -> st.SearchStrategy[tuple[int, int]]:
    """(seconds, nanos) of a google.protobuf.Timestamp, in and out of its range."""
    return st.tuples(
        st.one_of(st.integers(0, 2_000_000_000), st.sampled_from([-62135596800, 253402300799]),
                  int64()),
        st.one_of(st.just(0), int32()),
    )  # fmt: skip


NIL_UUID = "00000000-0000-0000-0000-000000000000"


def request_id(reused: list[str], *, tame: bool = False) -> st.SearchStrategy[str]:
    """A request_id: none, a new one or one of the `reused` ones (replays and clashes); unless
    `tame`, also the nil UUID, an upper-case, braced or unhyphenated UUID, or no UUID at all."""
    if tame:
        return st.one_of(st.just(""), st.uuids().map(str), st.sampled_from(reused))
    return st.one_of(
        st.just(""),
        st.uuids().map(str),
        st.sampled_from(reused),
        st.sampled_from([NIL_UUID, "not-a-uuid", "{" + str(uuid.UUID(int=7)) + "}"]),
        st.uuids().map(lambda u: str(u).upper()),
        st.uuids().map(lambda u: u.hex),
        text(),
    )


def etag(real: list[str], *, tame: bool = False) -> st.SearchStrategy[str]:
    """An etag: none or one the books handed out; unless `tame`, also a stale or impossible
    one, or garbage."""
    if tame:
        return st.one_of(st.just(""), st.just(""), st.sampled_from(real))
    return st.one_of(
        st.just(""),
        st.sampled_from(real),
        st.sampled_from(['"0"', '"1"', '"999999999999999999"', '"9999999999999999999"']),
        st.sampled_from(['W/"1"', '"-1"', "1", '""', '"1" ']),
        text(),
    )


def user_id(taken: list[str], *, tame: bool = False) -> st.SearchStrategy[str]:
    """A user_id for CreateUser: none or a new valid one; unless `tame`, also one that is
    `taken` or an invalid one."""
    if tame:
        return st.one_of(
            st.just(""), st.from_regex(r"[a-z][a-z0-9-]{2,20}[a-z0-9]", fullmatch=True)
        )
    return st.one_of(
        st.just(""),
        st.from_regex(r"[a-z][a-z0-9-]{2,20}[a-z0-9]", fullmatch=True),
        st.uuids().map(str),
        st.sampled_from(taken),
        st.sampled_from(["abc", "a" * 64, "Upper-case", "-lead", "trail-", "9digit", "users/x"]),
        text(),
    )


def email(*, tame: bool = False) -> st.SearchStrategy[str]:
    """An e-mail address or none; unless `tame`, also something that looks like one, or
    text."""
    if tame:
        return st.one_of(st.just(""), st.emails())
    return st.one_of(
        st.emails(),
        st.sampled_from(["", "a@b", "@example.org", "a@@example.org", "ada@example.org\n"]),
        text(),
    )


def actor_metadata() -> st.SearchStrategy[tuple[tuple[str, str | bytes], ...]]:
    """Request metadata naming the actor for the audit trail (x-actor): none, one, several, or
    a binary one; blank, long, or with what text fields refuse. Python's gRPC sends printable
    ASCII only in text metadata, and a few KiB at most."""
    printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
    value = st.one_of(
        st.sampled_from(["ops", "ops@example.org", "  ", "", "\\x1b[31m", "Robert'); --"]),
        printable,
        st.sampled_from([199, 200, 201, 4000]).map(lambda n: "a" * n),
    )
    actor = value.map(lambda v: ("x-actor", v))
    binary = st.binary(max_size=20).map(lambda b: ("x-actor-bin", b))
    return st.lists(st.one_of(actor, binary), max_size=2).map(tuple)


# A change to a request's bytes on the wire: (kind, argument).
WireChange = tuple[str, int | bytes]


def wire_change() -> st.SearchStrategy[WireChange | None]:
    """Mostly none; else the request's bytes cut short, followed by arbitrary bytes, or
    followed by a length-delimited field of invalid UTF-8 (a string no protobuf library
    writes, though any client can send it)."""
    return st.one_of(
        st.none(),
        st.none(),
        st.none(),
        st.tuples(st.just("truncate"), st.integers(0, 200)),
        st.tuples(st.just("append"), st.binary(min_size=1, max_size=12)),
        st.tuples(st.just("invalid_utf8"), st.integers(1, 20)),
    )


def change_wire(data: bytes, change: WireChange | None) -> bytes:
    """`data` changed as `change` says."""
    match change:
        case ("truncate", int(keep)):
            return data[:keep] if keep < len(data) else data[:-1]
        case ("append", bytes(extra)):
            return data + extra
        case ("invalid_utf8", int(number)):
            return data + bytes([number << 3 | 2, 2]) + b"\xc3\x28"
    return data


def page_token(real: list[str], *, tame: bool = False) -> st.SearchStrategy[str]:
    """A page token: none or one the service issued for the request (tame); or one issued for
    another, one altered by a character, or garbage."""
    issued = st.sampled_from(real) if real else st.just("")
    if tame:
        return st.one_of(st.just(""), issued)
    return st.one_of(
        st.just(""),
        issued,
        issued.map(lambda t: t[:-1]),
        issued.map(lambda t: t + "A"),
        issued.map(lambda t: t.replace(".", "..", 1)),
        issued.map(lambda t: "A" + t[1:]),
        st.sampled_from(["a.b", ".", "e30.AAAA", "\x00", "x" * 20_000]),
        text(),
    )


# Each scalar type of protobuf: a value fit for the field (tame) or any value of the type.
SCALARS: dict[int, Callable[[bool], st.SearchStrategy[Any]]] = {
    FieldDescriptor.TYPE_STRING: lambda tame: text(tame=tame),
    FieldDescriptor.TYPE_BYTES: lambda tame: st.binary(max_size=8 if tame else 64),
    FieldDescriptor.TYPE_BOOL: lambda tame: st.booleans(),
    FieldDescriptor.TYPE_INT32: lambda tame: st.integers(0, 100) if tame else int32(),
    FieldDescriptor.TYPE_SINT32: lambda tame: st.integers(0, 100) if tame else int32(),
    FieldDescriptor.TYPE_SFIXED32: lambda tame: st.integers(0, 100) if tame else int32(),
    FieldDescriptor.TYPE_INT64: lambda tame: st.integers(0, 100) if tame else int64(),
    FieldDescriptor.TYPE_SINT64: lambda tame: st.integers(0, 100) if tame else int64(),
    FieldDescriptor.TYPE_SFIXED64: lambda tame: st.integers(0, 100) if tame else int64(),
    FieldDescriptor.TYPE_UINT32: lambda tame: st.integers(0, 100) if tame else uint32(),
    FieldDescriptor.TYPE_FIXED32: lambda tame: st.integers(0, 100) if tame else uint32(),
    FieldDescriptor.TYPE_UINT64: lambda tame: st.integers(0, 100) if tame else uint64(),
    FieldDescriptor.TYPE_FIXED64: lambda tame: st.integers(0, 100) if tame else uint64(),
    FieldDescriptor.TYPE_DOUBLE: lambda tame: st.floats(0, 100) if tame else st.floats(),
    FieldDescriptor.TYPE_FLOAT: lambda tame: (
        st.floats(0, 100, width=32) if tame else st.floats(width=32)
    ),
}
