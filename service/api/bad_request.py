"""Invalid requests found by the API layer itself, before any service runs."""

from service.domain.errors import InvalidArgument


class BadRequest(InvalidArgument):
    """Invalid fields named by their path in the request (`account.display_name`), unlike a
    service's InvalidArgument, whose paths are those of its command."""
