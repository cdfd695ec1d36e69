"""Resource names for request fields: the caller's resources, another user's (by their own
names and by their IDs under the caller's), ones that do not exist, and malformed ones."""

from collections.abc import Mapping
from dataclasses import dataclass

from google.api import field_behavior_pb2
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import strategies as st

from tests import fuzz_values as values
from tests.fuzz_messages import behaviors, reference_type, resource_type

USER = "finance-tracker/User"
# The collection of each resource type in its names.
COLLECTIONS = {
    "finance-tracker/Account": "accounts",
    "finance-tracker/Category": "categories",
    "finance-tracker/Payee": "payees",
    "finance-tracker/Transaction": "transactions",
    "finance-tracker/RecurringTransaction": "recurringTransactions",
    "finance-tracker/AuditEvent": "auditEvents",
    "finance-tracker/Member": "members",
    "finance-tracker/ExchangeRate": "exchangeRates",
    "finance-tracker/Rule": "rules",
    # Statements sit under an account: this one's is an account of no one.
    "finance-tracker/Statement": "accounts/none/statements",
}
# How a request field names a resource: the user a call acts for (a parent, a user's name),
# the resource it acts on (`name`), or one that the request refers to. The API knows callers by
# nothing but these names, so a call for the other user is theirs to make: the fuzzer acts for
# its own user (or for none), and reaches for the other user's resources only through the
# fields that must not lead there, by their IDs under its own user and, in references, by
# their own names.
SCOPE, ADDRESS, REFERENCE = "scope", "address", "reference"
# Fields besides `name` and `parent` that name the resource a call acts on (and so, for the
# other user's, would be a call of theirs): (request message, field).
ACTS_ON = {("ReconcileAccountRequest", "account")}


@dataclass(frozen=True)
class Pools:
    """What the fuzzer draws from: the caller's books and another user's."""

    user: str  # the caller's name, users/{user}
    own: Mapping[str, list[str]]  # resource type -> names of the caller's resources
    foreign: Mapping[str, list[str]]  # resource type -> names of the other user's
    accounts: list[tuple[str, str]]  # the caller's accounts and their currencies
    etags: list[str]
    request_ids: list[str]  # reused, so that some requests replay or clash
    user_ids: list[str]  # user IDs that are taken
    page_tokens: Mapping[str, list[str]]  # List method's full name -> tokens for the caller
    foreign_page_tokens: Mapping[str, list[str]]  # ... and for the other user


def name_role(field: FieldDescriptor) -> tuple[str, str] | None:
    """(resource type, role) of a string field that holds a resource name, else None."""
    if field.type != FieldDescriptor.TYPE_STRING:
        return None
    identifier = field_behavior_pb2.IDENTIFIER in behaviors(field)
    if identifier:
        kind = resource_type(field.containing_type) if field.containing_type else ""
    else:
        kind = reference_type(field)
    if not kind:
        return None
    if kind == USER:
        return kind, SCOPE
    acts_on = field.name in ("name", "parent") or (
        field.containing_type is not None and (field.containing_type.name, field.name) in ACTS_ON
    )
    return kind, ADDRESS if identifier or acts_on else REFERENCE


def malformed(name: str) -> list[str]:
    """Names near `name` that are none, or are another resource's."""
    parent, _, own_id = name.rpartition("/")
    return [
        name + "/",
        name.upper(),
        name + "x" * 64,
        name.replace("/", "//", 1),
        name + "\n",
        name + "\x00",
        parent,
        " " + name,
        name + "/accounts/x",
        "//" + name,
        "projects/" + name,
        name.replace("/", "%2F"),
        parent + "/",
        parent + "/-",
        "users/-/" + name.partition("/")[2],
        name.replace(own_id, own_id.upper()),
        name + "\u202e",
        "users/*",
    ]


class Names:
    """Strategies for the names a request field holds, over one set of pools."""

    def __init__(self, pools: Pools) -> None:
        self.pools = pools

    def own(self) -> list[str]:
        """The caller's name and its resources'."""
        return [self.pools.user, *(n for names in self.pools.own.values() for n in names)]

    def every(self) -> list[str]:
        """Every resource name the pools hold, the caller's and the other user's."""
        p = self.pools
        return [p.user, *(n for pool in (p.own, p.foreign) for ns in pool.values() for n in ns)]

    def stray(self, field: FieldDescriptor) -> st.SearchStrategy[str] | None:
        """Names for `field` of resources that are not the caller's: another user's, by their
        ID under the caller's name or (where the field refers to a resource) by their own
        name, and ones that do not exist. None for a field that names no resource, or the
        user the call acts for: the call must get as far as the names that stray."""
        role = name_role(field)
        if role is None or field.is_repeated or role[1] == SCOPE:
            return None
        kind, how = role
        user, collection = self.pools.user, COLLECTIONS[kind]
        foreign = self.pools.foreign.get(kind, [])
        nowhere = st.uuids().map(lambda u: f"{user}/{collection}/{u}")
        if not foreign:
            return nowhere
        ids = [n.rsplit("/", 1)[1] for n in foreign]
        under_mine = st.sampled_from(ids).map(lambda i: f"{user}/{collection}/{i}")
        # Hypothesis tries earlier branches first: the other user's resources come first.
        if how == REFERENCE:
            return st.one_of(under_mine, st.sampled_from(foreign), nowhere)
        return st.one_of(under_mine, under_mine, nowhere)

    def of(self, kind: str, role: str, *, tame: bool) -> st.SearchStrategy[str]:
        """Names of `kind` for a field of `role`: the caller's own (when `tame`), or also
        malformed ones, ones of another kind, ones that do not exist, another user's, text."""
        p = self.pools
        user = p.user
        if role == SCOPE:
            if tame:
                return st.just(user)
            return st.one_of(
                st.just(user),
                st.uuids().map(lambda u: f"users/{u}"),
                st.sampled_from(malformed(user)),
                values.text(),
            )
        collection = COLLECTIONS[kind]
        own = p.own.get(kind) or [f"{user}/{collection}/none"]
        if tame:
            return st.sampled_from(own)
        foreign_ids = [n.rsplit("/", 1)[1] for n in p.foreign.get(kind, [])] or ["none"]
        others = [n for k, names in p.own.items() if k != kind for n in names] or [user]
        choices = [
            st.sampled_from(own),
            # Another user's resource under the caller's name, and their own name for it.
            st.sampled_from(foreign_ids).map(lambda i: f"{user}/{collection}/{i}"),
            st.sampled_from(own).flatmap(lambda n: st.sampled_from(malformed(n))),
            st.uuids().map(lambda u: f"{user}/{collection}/{u}"),
            st.sampled_from(others),
            values.text(),
        ]
        if role == REFERENCE and p.foreign.get(kind):
            choices.append(st.sampled_from(p.foreign[kind]))
        return st.one_of(choices)
