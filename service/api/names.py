"""Resource names (AIP-122): `users/{user}` and `users/{user}/accounts/{account}`."""

import re

from service.domain.errors import InvalidArgument, excerpt
from service.domain.models import AccountKey, UserKey

# IDs a client may choose (AIP-122); assigned ones are UUIDs, which also match _ID.
USER_ID = re.compile(r"^[a-z]([a-z0-9-]{2,61}[a-z0-9])$")
_ID = r"([a-z0-9][a-z0-9-]{0,62})"
_USER_NAME = re.compile(rf"^users/{_ID}$")
_ACCOUNT_NAME = re.compile(rf"^users/{_ID}/accounts/{_ID}$")


def parse_user_name(name: str, field: str = "name") -> UserKey:
    """The key of a `users/{user}` name; InvalidArgument on `field` if malformed."""
    match = _USER_NAME.match(name)
    if match is None:
        raise InvalidArgument.single(field, _malformed(name, "users/{user}"))
    return UserKey(match[1])


def parse_account_name(name: str, field: str = "name") -> AccountKey:
    """The key of a `users/{user}/accounts/{account}` name; InvalidArgument if malformed."""
    match = _ACCOUNT_NAME.match(name)
    if match is None:
        raise InvalidArgument.single(field, _malformed(name, "users/{user}/accounts/{account}"))
    return AccountKey(match[1], match[2])


def parse_user_child(name: str, collection: str, field: str = "name") -> tuple[str, str]:
    """The (user id, child id) of a `users/{user}/{collection}/{id}` name, such as
    `users/ada/categories/food`; InvalidArgument on `field` if malformed."""
    match = re.match(rf"^users/{_ID}/{re.escape(collection)}/{_ID}$", name)
    if match is None:
        raise InvalidArgument.single(field, _malformed(name, f"users/{{user}}/{collection}/{{id}}"))
    return match[1], match[2]


def child_name(user_id: str, collection: str, child_id: str) -> str:
    """The resource name `users/{user_id}/{collection}/{child_id}`."""
    return f"users/{user_id}/{collection}/{child_id}"


def user_name(user_id: str) -> str:
    """The resource name of a user."""
    return f"users/{user_id}"


def account_name(key: AccountKey) -> str:
    """The resource name of an account."""
    return f"users/{key.user_id}/accounts/{key.account_id}"


def _malformed(name: str, pattern: str) -> str:
    if not name:
        return f"is required, as {pattern}"
    return f"{excerpt(name)} is not a resource name of the form {pattern}"
