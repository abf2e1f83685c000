"""The dependency direction holds: pipeline → query → index → extract, nothing imports upward,
and extract knows nothing of torch or Milvus. Every layer may use vsearch.extract.errors and vsearch.configs."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"extract": 0, "index": 1, "query": 2, "pipeline": 3}
SHARED = {"vsearch.configs"}
PACKAGE_OF = {"vsearch.extract": "extract", "vsearch.index": "index", "vsearch.query": "query"}


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports, anywhere in it (imports inside functions count)."""
    package = ".".join(["vsearch", *(p for p in path.relative_to(ROOT).parts[:-1] if p != "pipeline")])
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _layer(module: str) -> str | None:
    if module in SHARED or any(module.startswith(s + ".") for s in SHARED):
        return None
    for prefix, layer in PACKAGE_OF.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return "pipeline" if module == "vsearch" or module.startswith("vsearch.") else None


FILES = sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_imports_upward(path):
    own = LAYERS[path.relative_to(ROOT).parts[0]]
    upward = sorted(m for m in _imports(path) if (layer := _layer(m)) and LAYERS[layer] > own
                    and m != "vsearch.__version__")
    assert not upward, f"{path.name} imports {upward}"


@pytest.mark.parametrize("path", sorted((ROOT / "extract").rglob("*.py")), ids=lambda p: p.name)
def test_extract_knows_nothing_of_torch_or_milvus(path):
    heavy = sorted(m for m in _imports(path) if m.split(".")[0] in {"torch", "transformers", "pymilvus", "milvus_lite"})
    assert not heavy, f"{path.name} imports {heavy}"


def test_the_shared_modules_import_no_layer():
    for path in (ROOT / "extract" / "errors.py", ROOT / "configs" / "__init__.py"):
        assert not [m for m in _imports(path) if m.startswith("vsearch")], path


def _module_of(path: Path) -> str:
    parts = [p for p in path.relative_to(ROOT).with_suffix("").parts if p not in {"pipeline", "__init__"}]
    return ".".join(["vsearch", *parts])


def test_no_import_cycles():
    """Imports inside functions count: a cycle hidden in a function is still a cycle."""
    modules = {_module_of(p): p for p in FILES}
    graph = {}
    for name, path in modules.items():
        # `from . import x` names the package a module already lives in: not an edge to its __init__
        own_package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        graph[name] = {m for m in _imports(path) if m in modules and m not in {name, own_package}}
    cycles, order, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node):
        order[node] = low[node] = len(order)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in order:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            members = []
            while not members or members[-1] != node:
                members.append(stack.pop())
                on_stack.discard(members[-1])
            if len(members) > 1:
                cycles.append(sorted(members))

    for node in graph:
        if node not in order:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_source_files_stay_small(path):
    assert len(path.read_text("utf-8").splitlines()) <= 400, f"{path.name} is over 400 lines: split it by job"
