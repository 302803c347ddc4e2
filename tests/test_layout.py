"""The layout as a contract: one-way dependencies between the packages (the
import-linter contracts in pyproject.toml), no import cycle, and small
parts (no module over 400 lines, no function whose code, its docstring
aside, is over 60 lines)."""

import ast
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "vaekit"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _modules():
    return sorted(SRC.rglob("*.py"))


def test_import_linter_contracts_are_kept():
    lint = shutil.which("lint-imports")
    assert lint, "import-linter is a test dependency: pip install -e .[test]"
    result = subprocess.run(
        [lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def _import_graph():
    """vaekit's modules and the vaekit modules each one imports (anywhere in
    it, function bodies included)."""
    graph = {}
    for path in _modules():
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1]
                        + ([base] if base else [])
                    )
                imported.add(base)
                imported |= {f"{base}.{a.name}" for a in node.names}
        graph[name] = imported
    return {m: {i for i in deps if i in graph and i != m} for m, deps in graph.items()}


def _cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle():
    graph = _import_graph()
    # A package's __init__ re-exports its modules: those edges are the
    # package's surface, not a dependency of the modules on each other.
    graph = {
        m: {d for d in deps if not (m + ".").startswith(d + ".") or d == "vaekit"}
        for m, deps in graph.items()
    }
    graph = {m: {d for d in deps if d != "vaekit"} for m, deps in graph.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]


def _function_sizes(path):
    """`(lines of code, name)` of each function of a module, its docstring
    aside."""
    sizes = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        first = body[0]
        docstring = isinstance(first, ast.Expr) and isinstance(
            getattr(first, "value", None), ast.Constant
        )
        start = first.end_lineno + 1 if docstring and len(body) > 1 else first.lineno
        sizes.append(
            (node.end_lineno - start + 1, f"{path.name}:{node.lineno} {node.name}")
        )
    return sizes


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_and_functions_are_small(path):
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES
    for code, name in _function_sizes(path):
        assert code <= MAX_FUNCTION_LINES, name


if __name__ == "__main__":
    # python tests/test_layout.py: the largest module and the longest function.
    modules = [
        (len(p.read_text().splitlines()), p.relative_to(SRC)) for p in _modules()
    ]
    functions = [size for p in _modules() for size in _function_sizes(p)]
    print(
        f"{len(modules)} modules; the largest: {max(modules)[1]} ({max(modules)[0]} lines)"
    )
    print(
        f"the longest function: {max(functions)[1]} ({max(functions)[0]} lines of code)"
    )
