"""The shape of the code: no import cycles, one home for each refusal message."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "headway"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the project's modules it imports, anywhere in it (lazy and typing-only too)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_the_project_modules() -> None:
    graph = import_graph()
    assert len(graph) > 150  # the whole package was read
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _literal(node: ast.expr, source: str) -> str | None:
    """What a `grep` for the message looks for: its text, or an f-string as written; a
    message marked for translation (`_("…")`, `_("…") % {…}`) is its message id."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        node = node.left
    if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("_", "gettext"):
        node = node.args[0] if node.args else node
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        written = ast.get_source_segment(source, node) or ""
        return written.removeprefix("f").strip("\"'")
    return None


def refusal_messages() -> dict[str, str]:
    """Every refusal the code can give (message → module that gives it).

    A refusal is a reason returned by a `why_not_…` predicate, or the message of a
    `require(…)`, `PermissionDenied(…)` raised directly.
    """
    found: dict[str, str] = {}
    for name, path in _modules().items():
        source = path.read_text()
        for node in ast.walk(ast.parse(source, str(path))):
            candidates: list[ast.expr] = []
            if isinstance(node, ast.FunctionDef) and node.name.startswith("why_not_"):
                candidates = [
                    ret.value
                    for ret in ast.walk(node)
                    if isinstance(ret, ast.Return) and ret.value is not None
                ]
                candidates += [
                    branch
                    for expr in candidates
                    if isinstance(expr, ast.IfExp)
                    for branch in (expr.body, expr.orelse)
                ]
            elif isinstance(node, ast.Call) and node.args:
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if called == "PermissionDenied":
                    candidates = [node.args[0]]
                elif called == "require" and len(node.args) > 1:
                    candidates = [node.args[1]]
            for expr in candidates:
                text = _literal(expr, source)
                if text and len(text) > 12:
                    found.setdefault(text, name)
    return found


def test_each_refusal_message_is_in_exactly_one_module() -> None:
    sources = {name: path.read_text() for name, path in _modules().items()}
    messages = refusal_messages()
    assert len(messages) > 30
    homes = {text: sorted(n for n, src in sources.items() if text in src) for text in messages}
    assert {text: where for text, where in homes.items() if len(where) != 1} == {}


def test_views_and_routes_word_no_refusal_of_their_own() -> None:
    """Pages and API routes parse, call the action and render: the gate's reasons only."""
    own = {
        text: module
        for text, module in refusal_messages().items()
        if ".web.views" in module or ".api.routes" in module
    }
    assert own == {}


@pytest.mark.parametrize(
    ("rule", "home"),
    [
        ("wrong_way_streak >=", "headway.kpis.health"),  # deserves_promotion
        ("healthy_streak >=", "headway.kpis.health"),  # may_return_to_monitoring
        ("1.5 * d", "headway.kpis.health"),  # the stale period (STALE_AFTER)
        ("timedelta(minutes=5)", "headway.moments"),  # the future tolerance
    ],
)
def test_each_kpi_and_cycle_rule_has_one_home(rule: str, home: str) -> None:
    where = sorted(name for name, path in _modules().items() if rule in path.read_text())
    assert where == [home]


def unlocked_lockers(source: str) -> list[str]:
    """Public action functions that lock rows (select_for_update, directly or through a
    module's private `_locked…` helper) without running in a transaction of their own.

    SQLite ignores FOR UPDATE, and pytest-django wraps each test in a transaction, so such
    a function passes every test on SQLite and in-process, then answers 500 on PostgreSQL
    when a view calls it (promote_kpi did, in a browser test).
    """
    tree = ast.parse(source)
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]

    def atomic(node: ast.FunctionDef) -> bool:
        return any("atomic" in ast.unparse(d) for d in node.decorator_list) or (
            "transaction.atomic" in ast.unparse(node)
        )

    # Helpers that lock but leave the transaction to their caller.
    lockers = {n.name for n in functions if "select_for_update" in ast.unparse(n) and not atomic(n)}
    found = []
    for node in functions:
        if node.name.startswith("_"):
            continue
        calls = {
            c.func.id
            for c in ast.walk(node)
            if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
        }
        if (node.name in lockers or calls & lockers) and not atomic(node):
            found.append(node.name)
    return found


def test_every_action_that_locks_rows_runs_in_a_transaction() -> None:
    offenders = {
        f"{path.parent.name}.{name}"
        for path in PACKAGE.glob("*/actions.py")
        for name in unlocked_lockers(path.read_text())
    }
    assert not offenders, offenders


def test_the_lock_check_finds_a_lock_outside_a_transaction() -> None:
    source = (
        "def _locked(x):\n    return X.objects.select_for_update().get(pk=x)\n"
        "def change(x):\n    _locked(x)\n"
        "@transaction.atomic\ndef safe(x):\n    _locked(x)\n"
    )
    assert unlocked_lockers(source) == ["change"]
