"""Reading the project's own source for the tests that hold a rule over all of it."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SOURCES = Path(__file__).resolve().parent.parent / "src" / "headway"


def project_calls() -> Iterator[tuple[Path, ast.Call]]:
    """Every call written in the project's modules, with the file it is in."""
    for path in sorted(SOURCES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                yield path, node


def called(call: ast.Call) -> str:
    """The name a call is made by: `f` of `f(…)`, `attr` of `x.attr(…)`."""
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def bare_english(node: ast.expr, worded: frozenset[str] = frozenset()) -> bool:
    """Text written out in English only: a literal or an f-string, one joined to other
    text, or either in a branch. A call is bare unless it is made by a name in `worded`
    (what keeps its words: gettext, `Says`…); with `worded` empty a call is not judged."""
    if isinstance(node, ast.Constant | ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return bare_english(node.left, worded) or bare_english(node.right, worded)
    if isinstance(node, ast.IfExp):
        return bare_english(node.body, worded) or bare_english(node.orelse, worded)
    if isinstance(node, ast.Call) and worded:
        return called(node) not in worded
    return False
