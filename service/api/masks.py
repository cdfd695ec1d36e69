"""Update masks (AIP-134)."""

from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from service.api.bad_request import BadRequest
from service.api.validation import Violations
from service.domain.errors import excerpt


def mask_paths(
    mask: field_mask_pb2.FieldMask,
    updatable: tuple[str, ...],
    *,
    present: bool,
    ignored: tuple[str, ...] = (),
) -> frozenset[str]:
    """The fields an update touches; `*` means all updatable ones.

    `ignored` fields (output-only ones) may be named and are left out, as AIP-203 asks, so a
    client can send back the mask of a whole resource it read. A missing mask is rejected rather
    than read as "everything set", so a client that forgets it cannot blank fields by accident.
    """
    if not present or not mask.paths:
        raise BadRequest.single(
            "update_mask", f"is required; name the fields to update: {', '.join(updatable)}"
        )
    if list(mask.paths) == ["*"]:
        return frozenset(updatable)
    paths = [p for p in mask.paths if p not in ignored]
    unknown = [p for p in paths if p not in updatable]
    if unknown:
        raise BadRequest.single(
            "update_mask",
            f"cannot update {', '.join(excerpt(p) for p in unknown[:5])}"
            f"{', ...' if len(unknown) > 5 else ''}; updatable fields: {', '.join(updatable)}",
        )
    return frozenset(paths)


def update_paths(
    request: Message,
    violations: Violations,
    updatable: tuple[str, ...],
    *,
    ignored: tuple[str, ...] = (),
) -> frozenset[str]:
    """The fields the `update_mask` of an Update request names (see `mask_paths`); a bad mask is
    recorded in `violations` and touches nothing."""
    mask: field_mask_pb2.FieldMask = getattr(request, "update_mask")  # noqa: B009
    present = request.HasField("update_mask")
    paths = violations.check(lambda: mask_paths(mask, updatable, present=present, ignored=ignored))
    return paths or frozenset()
