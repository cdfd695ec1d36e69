"""AIP-132 `order_by`: parsed into the order keys of a List query."""

from service.api.bad_request import BadRequest
from service.domain.errors import excerpt
from service.domain.listing import OrderKey


def parse_order_by(text: str) -> tuple[OrderKey, ...]:
    """Parse an AIP-132 `order_by` ("display_name desc, create_time") into order keys."""
    if "\x00" in text:
        raise BadRequest.single("order_by", "must not contain NUL characters")
    keys = []
    for part in text.split(","):
        words = part.split()
        if not words:
            if text.strip():
                raise BadRequest.single("order_by", "empty field in order_by")
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise BadRequest.single(
                "order_by", f"expected 'field' or 'field desc', got {excerpt(part.strip())}"
            )
        keys.append(OrderKey(words[0], descending=len(words) == 2 and words[1].lower() == "desc"))
    return tuple(keys)
