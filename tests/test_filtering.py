"""The AIP-160 filter parser on its own."""

import pytest

from service.api.filtering import parse_filter
from service.domain.errors import InvalidArgument
from service.domain.filter_syntax import And, Comparison, Not, Or


def test_empty_filter_is_none():
    assert parse_filter("   ") is None


def test_or_binds_tighter_than_and():
    assert parse_filter("a = 1 AND b = 2 OR c = 3") == And(
        (
            Comparison("a", "=", "1", quoted=False),
            Or((Comparison("b", "=", "2", quoted=False), Comparison("c", "=", "3", quoted=False))),
        )
    )


def test_quoted_strings_keep_spaces_and_escapes():
    assert parse_filter(r'name = "a \"b\" c"') == Comparison("name", "=", 'a "b" c', quoted=True)


def test_not_and_minus_negate():
    expected = Not(Comparison("a", "!=", "x", quoted=False))
    assert parse_filter("NOT a != x") == expected
    assert parse_filter("-a != x") == expected


@pytest.mark.parametrize(
    "text", ["a", "a =", "= 1", "(a = 1", "a = 1)", 'a = "open', "a = 1 b = 2"]
)
def test_malformed_filters_are_invalid_arguments_on_filter(text):
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text)
    assert [v.field for v in caught.value.violations] == ["filter"]
