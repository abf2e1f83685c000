"""The packaged default settings, default.toml: the one source of every default.

The options dataclasses of every layer take their defaults from here, so a library caller and
the command line get the same ones.
"""

import functools
import sys
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@functools.cache
def _table() -> dict[str, Any]:
    return flatten(tomllib.loads(resources.files(__name__).joinpath("default.toml").read_text("utf-8")))


def flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    """{"find": {"top_k": 5}} as {"find.top_k": 5}."""
    flat = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def defaults() -> dict[str, Any]:
    """Every key of default.toml with its value (a fresh copy)."""
    return {k: list(v) if isinstance(v, list) else v for k, v in _table().items()}


def default(key: str) -> Any:
    """The default of one key, such as "find.top_k"."""
    return _table()[key]
