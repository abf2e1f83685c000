"""One settings object: flag > VSEARCH_* environment > --config TOML > configs/default.toml."""

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from vsearch.extract import VsearchError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class SettingsError(VsearchError):
    """A setting is unknown or has a value of the wrong type."""

    exit_code = 2


def _flatten(table: Mapping, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def env_name(key: str) -> str:
    """`find.top_k` is set by VSEARCH_FIND_TOP_K."""
    return "VSEARCH_" + key.replace(".", "_").upper()


def _coerce(key: str, value: Any, like: Any, origin: str) -> Any:
    """Give `value` the type of the default `like`, parsing strings from the environment."""
    try:
        if isinstance(like, bool):
            if isinstance(value, str):
                if value.lower() in ("1", "true", "yes", "on"):
                    return True
                if value.lower() in ("0", "false", "no", "off"):
                    return False
                raise ValueError
            if isinstance(value, bool):
                return value
            raise ValueError
        if isinstance(like, list):
            return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else list(value)
        if isinstance(like, (int, float)) and isinstance(value, bool):
            raise ValueError
        return type(like)(value)
    except (TypeError, ValueError):
        raise SettingsError(
            f"setting {key} from {origin} must be a {type(like).__name__}, not {value!r}"
        ) from None


def _defaults() -> dict[str, Any]:
    text = resources.files("vsearch.configs").joinpath("default.toml").read_text("utf-8")
    return _flatten(tomllib.loads(text))


@dataclass(frozen=True)
class Settings:
    """Every knob, resolved, plus which ones were set by the user rather than defaults."""

    values: Mapping[str, Any]
    explicit: frozenset

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    @property
    def home(self) -> Path:
        if self["home"]:
            return Path(self["home"]).expanduser()
        from platformdirs import user_data_dir

        return Path(user_data_dir("vsearch"))

    def store_config(self):
        from vsearch.index import StoreConfig

        uri = self["uri"] or str(self.home / "index.db")
        return StoreConfig(uri, self["token"], self["collection"], self["busy_timeout"], self["fast_lite"])

    def encoder_options(self):
        from vsearch.index import EncoderOptions

        return EncoderOptions(self["device"], self["dtype"], self["batch_size"])

    def index_options(self):
        from vsearch.index import IndexOptions

        e = {k.split(".", 1)[1]: v for k, v in self.values.items() if k.startswith("extract.")}
        return IndexOptions(**e)

    def find_options(self):
        from vsearch.query import FindOptions

        f = {k.split(".", 1)[1]: v for k, v in self.values.items() if k.startswith("find.")}
        weights = {name[len("weight_"):]: f.pop(name) for name in list(f) if name.startswith("weight_")}
        return FindOptions(weights=weights, **f)


def load_settings(
    config_file: Path | None = None, flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Layer the sources; unknown keys and bad types are errors, not silently ignored."""
    values = _defaults()
    explicit: set[str] = set()
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if config_file is not None:
        try:
            layers.append((str(config_file), _flatten(tomllib.loads(Path(config_file).read_text("utf-8")))))
        except OSError as exc:
            raise SettingsError(f"cannot read config {config_file} ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config {config_file} is not valid TOML ({exc})") from None
    env = os.environ if environ is None else environ
    layers.append(("environment", {k: env[env_name(k)] for k in values if env_name(k) in env}))
    layers.append(("command line", {k: v for k, v in (flags or {}).items() if v is not None}))
    for origin, layer in layers:
        for key, value in layer.items():
            if key not in values:
                raise SettingsError(f"unknown setting {key!r} in {origin}; see configs/default.toml")
            values[key] = _coerce(key, value, values[key], origin)
            explicit.add(key)
    return Settings(values, frozenset(explicit))
