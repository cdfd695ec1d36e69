"""The syntax tree of an AIP-160 filter: the plain query object a List hands to repositories."""

from dataclasses import dataclass

from service.domain.keys import ResourceKey


@dataclass(frozen=True)
class Comparison:
    """`field op value`; `quoted` tells a string literal from a bare word such as an enum.

    A comparison with a resource (`account = "users/u/accounts/a"`) holds the resource's key
    once the API layer has read its name; `reference` is None otherwise.
    """

    field: str
    op: str
    value: str
    quoted: bool
    reference: ResourceKey | None = None


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
