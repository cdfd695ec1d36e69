"""The syntax tree of an AIP-160 filter: the plain query object a List hands to repositories."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Comparison:
    """`field op value`; `quoted` tells a string literal from a bare word such as an enum."""

    field: str
    op: str
    value: str
    quoted: bool


@dataclass(frozen=True)
class And:
    """All of `terms` hold."""

    terms: tuple["Expression", ...]


@dataclass(frozen=True)
class Or:
    """Any of `terms` holds."""

    terms: tuple["Expression", ...]


@dataclass(frozen=True)
class Not:
    """`term` does not hold."""

    term: "Expression"


Expression = Comparison | And | Or | Not
