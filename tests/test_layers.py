"""The dependency direction holds: pipeline → query → index → extract, nothing imports upward,
and extract knows nothing of torch or Milvus. Every layer may use vsearch.errors and vsearch.configs."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"extract": 0, "index": 1, "query": 2, "pipeline": 3}
SHARED = {"vsearch.errors", "vsearch.configs"}
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
    for path in (ROOT / "pipeline" / "errors.py", ROOT / "configs" / "__init__.py"):
        assert not [m for m in _imports(path) if m.startswith("vsearch")], path
