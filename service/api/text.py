"""Free text in requests: which characters it may hold, its length, and its trimming."""

import re

from service.api.bad_request import BadRequest

# Control characters (C0, DEL and C1: Unicode category Cc) rewrite terminals and forge log lines
# (ESC starts every ANSI escape sequence; PostgreSQL text cannot even store NUL), and the
# bidirectional embeddings, overrides and isolates make text display in another order than it
# is stored ("Trojan Source", CVE-2021-42574). Whatever shows this text later is safe from both.
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_BIDI = re.compile(f"[{_BIDI_CONTROLS}]")
_SINGLE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")
# Multi-line text may break lines and indent them, with LF only: a CR would store a second way
# of writing one line break.
_MULTI_LINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")


def check_characters(value: str, field: str, *, multiline: bool = False) -> str:
    """`value`, unless it holds a control character or a bidirectional override or isolate:
    InvalidArgument on `field` then. `multiline` text may also hold tabs and line feeds."""
    found = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    if found is None:
        return value
    character = found.group()
    code = f"U+{ord(character):04X} at position {found.start()}"
    if character in "\t\n":
        raise BadRequest.single(field, f"must be a single line, without tabs ({code})")
    if _BIDI.match(character):
        raise BadRequest.single(field, f"must not contain bidirectional controls ({code})")
    raise BadRequest.single(field, f"must not contain control characters ({code})")


def optional_text(value: str, field: str, max_length: int, *, multiline: bool = False) -> str:
    """`value` checked by `check_characters`, stripped of surrounding whitespace: at most
    `max_length` characters, possibly empty."""
    text = check_characters(value, field, multiline=multiline).strip()
    if len(text) > max_length:
        raise BadRequest.single(field, f"must be at most {max_length} characters")
    return text


def require_text(value: str, field: str, *, max_length: int = 200) -> str:
    """`value` as `optional_text` makes it (one line), which must be 1 to `max_length`
    characters."""
    text = optional_text(value, field, max_length)
    if not text:
        raise BadRequest.single(field, "is required")
    return text
