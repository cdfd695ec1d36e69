"""Update masks (AIP-134)."""

from google.protobuf import field_mask_pb2

from service.domain.errors import InvalidArgument


def mask_paths(
    mask: field_mask_pb2.FieldMask, updatable: tuple[str, ...], *, present: bool
) -> frozenset[str]:
    """The fields an update touches; `*` means all updatable ones.

    A missing mask is rejected rather than read as "everything set", so a client that forgets
    it cannot blank fields by accident.
    """
    if not present or not mask.paths:
        raise InvalidArgument.single(
            "update_mask", f"is required; name the fields to update: {', '.join(updatable)}"
        )
    if list(mask.paths) == ["*"]:
        return frozenset(updatable)
    unknown = [p for p in mask.paths if p not in updatable]
    if unknown:
        raise InvalidArgument.single(
            "update_mask",
            f"cannot update {', '.join(unknown)}; updatable fields: {', '.join(updatable)}",
        )
    return frozenset(mask.paths)
