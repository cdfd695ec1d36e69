"""Validating CategoryService requests into domain commands."""

import uuid
from dataclasses import dataclass

from finance.v1 import category_service_pb2

from service.api import names
from service.api.convert_catalog import CATEGORY_KINDS
from service.api.masks import update_paths
from service.api.text import require_text
from service.api.validation import Violations, parse_etag, parse_request_id
from service.domain.categories import CategoryChanges, NewCategory
from service.domain.keys import CategoryKey, UserKey

UPDATABLE = ("display_name", "parent")
KINDS_BY_PROTO = {proto: domain for domain, proto in CATEGORY_KINDS.items()}


@dataclass(frozen=True)
class CreateCategory:
    """A validated CreateCategory request."""

    owner: UserKey
    new: NewCategory
    request_id: uuid.UUID | None


@dataclass(frozen=True)
class UpdateCategory:
    """A validated UpdateCategory request."""

    key: CategoryKey
    changes: CategoryChanges
    expected_revision: int | None


def _parent(value: str) -> CategoryKey | None:
    """The key of `category.parent`; None when empty (a top-level category)."""
    return names.parse_category_name(value, "category.parent") if value else None


def parse_create(request: category_service_pb2.CreateCategoryRequest) -> CreateCategory:
    """The owner, new category and request id of a CreateCategory request."""
    violations = Violations()
    owner = violations.check(lambda: names.parse_user_name(request.parent, "parent"))
    if not request.HasField("category"):
        violations.add("category", "is required")
    category = request.category
    display_name = violations.check(
        lambda: require_text(category.display_name, "category.display_name")
    )
    kind = KINDS_BY_PROTO.get(category.kind)
    if kind is None:
        violations.add(
            "category.kind",
            "is required: one of "
            + ", ".join(category_service_pb2.Category.Kind.Name(k) for k in KINDS_BY_PROTO),
        )
    parent = violations.check(lambda: _parent(category.parent))
    request_id = violations.check(lambda: parse_request_id(request.request_id))
    violations.raise_if_any()
    assert owner is not None
    assert display_name is not None
    assert kind is not None
    return CreateCategory(owner, NewCategory(display_name, kind, parent), request_id)


def parse_update(request: category_service_pb2.UpdateCategoryRequest) -> UpdateCategory:
    """The key, changes and expected revision of an UpdateCategory request."""
    violations = Violations()
    category = request.category
    key = violations.check(lambda: names.parse_category_name(category.name, "category.name"))
    paths = update_paths(request, violations, UPDATABLE)
    display_name = parent = None
    if "display_name" in paths:
        display_name = violations.check(
            lambda: require_text(category.display_name, "category.display_name")
        )
    if "parent" in paths:
        parent = violations.check(lambda: _parent(category.parent))
    revision = violations.check(lambda: parse_etag(category.etag, "category.etag"))
    violations.raise_if_any()
    assert key is not None
    changes = CategoryChanges(
        display_name=display_name, change_parent="parent" in paths, parent=parent
    )
    return UpdateCategory(key, changes, revision)
