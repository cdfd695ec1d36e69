"""google.type.Date <-> datetime.date."""

from datetime import date

from google.type import date_pb2

from service.api.bad_request import BadRequest


def parse_date(value: date_pb2.Date, field: str, *, present: bool = True) -> date:
    """A full calendar date; InvalidArgument on `field` if missing or not a real day."""
    if not present or (value.year, value.month, value.day) == (0, 0, 0):
        raise BadRequest.single(field, "is required: a date with year, month and day")
    try:
        return date(value.year, value.month, value.day)
    except ValueError:
        raise BadRequest.single(
            field, f"{value.year:04}-{value.month:02}-{value.day:02} is not a calendar date"
        ) from None


def to_proto_date(value: date) -> date_pb2.Date:
    """A date as google.type.Date."""
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)
