"""A parser for AIP-160 filter expressions, producing a small syntax tree.

Supported: comparisons (`=`, `!=`, `<`, `<=`, `>`, `>=`, `:`), `AND`, `OR`, `NOT`/`-` and
parentheses. As AIP-160 says, `OR` binds tighter than `AND`: `a AND b OR c` is `a AND (b OR c)`.
What a field name means and which values it takes is for the query compiler to decide.

Filters are bounded in length and nesting, which bounds the parser's recursion and the number of
query parameters a filter can turn into (PostgreSQL takes at most 32767).
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import replace

from service.api import names
from service.api.bad_request import BadRequest
from service.domain.errors import excerpt
from service.domain.filter_syntax import And, Comparison, Expression, Not, Or
from service.domain.keys import ResourceKey

MAX_FILTER_LENGTH = 2000
MAX_NESTING = 32

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op><=|>=|!=|=|<|>|:)
      | (?P<paren>[()])
      | (?P<minus>-(?=[A-Za-z_(]))
      | (?P<word>[^\s()"'<>=!:]+)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT"}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    nul = text.find("\x00")
    if nul >= 0:
        raise _error(f"NUL character at position {nul}")
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise _error(f"unexpected character at position {position}")
        kind, value = match.lastgroup, match.group(match.lastgroup)
        if kind == "word" and value in _KEYWORDS:
            kind = value
        tokens.append((kind, value))
        position = match.end()
    return tokens


def _error(description: str) -> BadRequest:
    return BadRequest.single("filter", f"invalid filter: {description}")


def _unquote(literal: str) -> str:
    return re.sub(r"\\(.)", r"\1", literal[1:-1])


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self._tokens = tokens
        self._index = 0
        self._depth = 0

    def _peek(self) -> str | None:
        return self._tokens[self._index][0] if self._index < len(self._tokens) else None

    def _take(self, *kinds: str) -> tuple[str, str]:
        kind = self._peek()
        if kind not in kinds:
            found = "end of filter" if kind is None else excerpt(self._current())
            raise _error(f"expected {' or '.join(kinds)}, found {found}")
        self._index += 1
        return self._tokens[self._index - 1]

    def parse(self) -> Expression:
        expression = self._expression()
        if self._peek() is not None:
            raise _error(f"unexpected {excerpt(self._current())}; join terms with AND/OR")
        return expression

    def _expression(self) -> Expression:
        terms = [self._sequence()]
        while self._peek() == "AND":
            self._take("AND")
            terms.append(self._sequence())
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def _sequence(self) -> Expression:
        terms = [self._factor()]
        while self._peek() == "OR":
            self._take("OR")
            terms.append(self._factor())
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def _factor(self) -> Expression:
        if self._peek() in ("NOT", "minus"):
            self._index += 1
            return Not(self._nested(self._factor))
        if self._peek() == "paren" and self._current() == "(":
            self._index += 1
            expression = self._nested(self._expression)
            if self._take("paren")[1] != ")":
                raise _error("expected ')'")
            return expression
        return self._comparison()

    def _nested(self, parse: Callable[[], Expression]) -> Expression:
        """`parse` one level deeper inside parentheses or NOT, up to MAX_NESTING levels."""
        if self._depth == MAX_NESTING:
            raise _error(f"nested more than {MAX_NESTING} levels deep")
        self._depth += 1
        try:
            return parse()
        finally:
            self._depth -= 1

    def _current(self) -> str:
        return self._tokens[self._index][1]

    def _comparison(self) -> Comparison:
        field = self._take("word")[1]
        op = self._take("op")[1]
        kind, value = self._take("string", "word")
        if kind == "string":
            return Comparison(field, op, _unquote(value), quoted=True)
        return Comparison(field, op, value, quoted=False)


def parse_filter(text: str) -> Expression | None:
    """Parse an AIP-160 filter; None for an empty one. Raises InvalidArgument on `filter`."""
    if not text.strip():
        return None
    if len(text) > MAX_FILTER_LENGTH:
        raise _error(f"must be at most {MAX_FILTER_LENGTH} characters")
    return _Parser(_tokenize(text)).parse()


# In `references`, a field that may name a resource of any collection, or a user.
ANY_RESOURCE = "*"


def resolve_references(
    expression: Expression | None, references: Mapping[str, str]
) -> Expression | None:
    """`expression` with the resource names compared with `references` fields (field ->
    the collection it names a resource of) read into keys, so that no layer below reads
    resource names. Such a field takes = or != and a name; an empty value (`parent = ""`)
    stays empty."""
    match expression:
        case None:
            return None
        case And(terms):
            return And(tuple(_resolved(t, references) for t in terms))
        case Or(terms):
            return Or(tuple(_resolved(t, references) for t in terms))
        case Not(term):
            return Not(_resolved(term, references))
        case Comparison(field=field, op=op, value=value) if field in references:
            collection = references[field]
            key = None
            if value:
                key = _key(value, collection)
            if op not in ("=", "!=") or (value and key is None):
                pattern = f"users/{{user}}/{collection}/{{id}}"
                if collection == ANY_RESOURCE:
                    pattern = "such as users/{user}/transactions/{transaction}"
                raise _error(f"{field!r} takes = or != and a name {pattern}")
            return replace(expression, reference=key)
    return expression


def _resolved(expression: Expression, references: Mapping[str, str]) -> Expression:
    resolved = resolve_references(expression, references)
    assert resolved is not None
    return resolved


def _key(name: str, collection: str) -> ResourceKey | None:
    try:
        if collection == ANY_RESOURCE:
            return names.parse_any_name(name)
        return names.parse_child_name(name, collection)
    except BadRequest:
        return None
