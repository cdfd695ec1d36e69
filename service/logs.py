"""Log configuration: human-readable text or one JSON object per line, each line of an RPC
with its trace and its request_id."""

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from opentelemetry import trace

# The request_id of the RPC being served. Each RPC runs in a task of its own, whose context
# starts without one, so a value never outlives its RPC.
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else came from `extra=` and is structured data.
_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message and any extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Formats a record as a line of text, with extras appended as key=value pairs."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        return f"{line} {extras}" if extras else line


def set_request_id(request: object) -> None:
    """Tag the logs of the RPC being served with the `request_id` field of its `request`,
    when it has one that is set. The field is not validated yet: at most 64 characters of it
    are kept, with control and invisible characters escaped, so no value forges a log line."""
    value = getattr(request, "request_id", None)
    _request_id.set(repr(value[:64])[1:-1] if isinstance(value, str) and value else None)


class RpcContext(logging.Filter):
    """Adds to each record logged in an RPC the ids that tie it to the RPC: `trace_id` and
    `span_id` of the current span (when the RPC is traced) and the request's `request_id`
    (when it has one). Records logged outside an RPC pass unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the ids; never drops a record."""
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            record.trace_id = format(span.trace_id, "032x")
            record.span_id = format(span.span_id, "016x")
        request_id = _request_id.get()
        if request_id is not None:
            record.request_id = request_id
        return True


def configure_logging(*, level: str, fmt: Literal["text", "json"]) -> None:
    """Send all logs to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RpcContext())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pgserver logs every command it runs at INFO, including full command lines.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
