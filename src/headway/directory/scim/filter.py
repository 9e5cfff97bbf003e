"""SCIM filters (RFC 7644 section 3.4.2.2) parsed into a small tree; no Django here.

    parse('userName eq "ada@example.com" and not (active eq false)')

Grammar: `or` binds loosest, then `and`, then `not`; parentheses group; a value path
`emails[type eq "work"]` filters a multi-valued attribute. Operators: eq ne co sw ew gt ge
lt le pr. Attribute names keep their case here; matching them is case-insensitive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPERATORS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})


class FilterError(ValueError):
    """The filter is not valid SCIM filter syntax (a 400 invalidFilter)."""


@dataclass(frozen=True)
class Compare:
    path: str
    op: str
    value: str | int | float | bool | None


@dataclass(frozen=True)
class Present:
    path: str


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    inner: Node


@dataclass(frozen=True)
class ValuePath:
    path: str
    inner: Node
    sub: str = ""  # emails[type eq "work"].value: the sub-attribute after the brackets


Node = Compare | Present | And | Or | Not | ValuePath

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<lparen>\() | (?P<rparen>\)) | (?P<lbracket>\[) | (?P<rbracket>\])
      | (?P<word>[A-Za-z0-9_:.$\-+]+)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"Unexpected {text[position : position + 10]!r} in the filter.")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise FilterError("The filter ends too early.")
        self.at += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self.at += 1
            return True
        return False

    def parse(self) -> Node:
        if not self.tokens:
            raise FilterError("The filter is empty.")
        node = self.or_expr()
        if self.peek() is not None:
            raise FilterError(f"Unexpected {self.peek()[1]!r} in the filter.")  # type: ignore[index]
        return node

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.keyword("or"):
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.unary()
        while self.keyword("and"):
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        if self.keyword("not"):
            return Not(self.unary())
        token = self.peek()
        if token is not None and token[0] == "lparen":
            self.take()
            node = self.or_expr()
            if self.take()[0] != "rparen":
                raise FilterError("A parenthesis is not closed.")
            return node
        return self.comparison()

    def comparison(self) -> Node:
        kind, path = self.take()
        if kind != "word":
            raise FilterError(f"Expected an attribute name, found {path!r}.")
        token = self.peek()
        if token is not None and token[0] == "lbracket":
            self.take()
            inner = self.or_expr()
            if self.take()[0] != "rbracket":
                raise FilterError("A [ is not closed.")
            sub = ""
            nxt = self.peek()
            if nxt is not None and nxt[0] == "word" and nxt[1].startswith("."):
                sub = self.take()[1][1:]
            value_path = ValuePath(path, inner, sub)
            if sub:
                return self._compare_rest(f"{path}.{sub}", value_path)
            return value_path
        return self._compare_rest(path, None)

    def _compare_rest(self, path: str, value_path: ValuePath | None) -> Node:
        kind, op = self.take()
        op = op.lower()
        if kind != "word" or (op not in OPERATORS and op != "pr"):
            raise FilterError(f"Unknown operator {op!r} (eq ne co sw ew gt ge lt le pr).")
        if op == "pr":
            node: Node = Present(path)
        else:
            node = Compare(path, op, self.value())
        if value_path is not None:
            return And(ValuePath(value_path.path, value_path.inner), node)
        return node

    def value(self) -> str | int | float | bool | None:
        kind, text = self.take()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind != "word":
            raise FilterError(f"Expected a value, found {text!r}.")
        lowered = text.lower()
        if lowered in {"true", "false"}:
            return lowered == "true"
        if lowered == "null":
            return None
        try:
            return int(text)
        except ValueError:
            pass
        try:
            return float(text)
        except ValueError:
            raise FilterError(f"{text!r} is not a value: strings need double quotes.") from None


def parse(text: str) -> Node:
    """The tree of a SCIM filter; FilterError with a message for bad syntax."""
    return _Parser(text).parse()
