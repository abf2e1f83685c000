"""One settings object: flag > VSEARCH_* environment > --config TOML > configs/default.toml."""

import codecs
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsearch.configs import default, defaults, flatten, tomllib
from vsearch.extract.errors import VsearchError

from .request import MAX_TOP_K


class SettingsError(VsearchError):
    """A setting is unknown or has a value of the wrong type."""

    exit_code = 2


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
        if isinstance(like, int) and isinstance(value, float) and not value.is_integer():
            raise ValueError  # int(1.5) would quietly be 1
        return type(like)(value)
    except (TypeError, ValueError):
        raise SettingsError(
            f"setting {key} from {origin} must be a {type(like).__name__}, not {value!r}"
        ) from None


def _at_least(low: float, above: bool = False):
    return (lambda v: v > low) if above else (lambda v: v >= low), f"{'above' if above else 'at least'} {low:g}"


def _between(low: float, high: float):
    return (lambda v: low <= v <= high), f"between {low:g} and {high:g}"


def _one_of(*choices: str):
    return (lambda v: v in choices), "one of " + ", ".join(choices)


def _matches(pattern: str, what: str):
    return (lambda v: re.fullmatch(pattern, v) is not None), what


def _encoding(name: str) -> bool:
    try:
        return name == "auto" or bool(codecs.lookup(name))
    except LookupError:
        return False


# find.* keys that say how a find is answered, not how it ranks
NOT_RANKING = ("find.use_server", "find.resident")

# The allowed values of every knob, checked at load; tests require one entry per key of default.toml.
RULES = {
    "home": (lambda v: "\0" not in v, "a folder path"),
    "uri": (lambda v: "\0" not in v, "a Milvus URI or a path"),
    "token": (lambda v: True, "any text"),
    "collection": _matches(r"[A-Za-z_][A-Za-z0-9_]{0,200}", "letters, digits and _, not starting with a digit"),
    "busy_timeout": _at_least(0),
    "fast_lite": (lambda v: True, "true or false"),
    "model": (lambda v: bool(v.strip()), "a preset, a Hugging Face id or a folder"),
    "text_model": (lambda v: bool(v.strip()), "image, a text-model preset, a Hugging Face id or a folder"),
    "picture_model": (lambda v: bool(v.strip()), "none, a picture-model preset, a Hugging Face id or a folder"),
    "device": _matches(r"auto|cpu|mps|cuda(:\d+)?", "auto, cpu, mps, cuda or cuda:N"),
    "dtype": _one_of("auto", "float32", "float16", "bfloat16"),
    "batch_size": _between(0, 4096),
    "engine": _one_of("auto", "torch", "onnx"),
    "engine_precision": _one_of("auto", "fp32", "int8"),
    "extract.fps": _between(0.01, 60),
    "extract.chunk": _between(1, 10000),
    "extract.decode_threads": _between(0, 256),
    "extract.decode_readers": _between(0, 256),
    "extract.dedup_threshold": _between(0, 255),
    "extract.pixel_change": _between(1, 255),
    "extract.changed_pixels": _between(1, 100000),
    "extract.shots": (lambda v: True, "true or false"),
    "extract.sidecar_subs": (lambda v: True, "true or false"),
    "extract.embedded_subs": (lambda v: True, "true or false"),
    "extract.subtitle_encoding": (_encoding, "auto or a Python codec name (utf-8, gb18030, cp1252, ...)"),
    "asr.mode": _one_of("auto", "on", "off"),
    "asr.model": (lambda v: bool(v.strip()), "auto, a faster-whisper size, a Hugging Face id or a folder"),
    "asr.compute_type": _one_of("auto", "int8", "int8_float16", "int8_float32", "float16", "bfloat16", "float32"),
    "asr.threads": _between(0, 256),
    "asr.language": _matches(r"|[a-z]{2,3}", "empty (detect) or a language code such as en or zh"),
    "asr.beam_size": _between(1, 20),
    "asr.cue_seconds": _between(1, 60),
    "asr.window": _between(30, 3600),
    "ocr.mode": _one_of("auto", "on", "off"),
    "ocr.max_side": _between(320, 4096),
    "ocr.min_score": _between(0, 1),
    "ocr.change": _between(0, 255),
    "ocr.settle": _between(0, 255),
    "ocr.threads": _between(0, 256),
    "audio.mode": _one_of("auto", "on", "off"),
    "audio.model": (lambda v: bool(v.strip()), "clap, clap-general, a Hugging Face id or a folder"),
    "audio.window": _between(0.1, 10),
    "audio.hop": _between(0.1, 10),
    "audio.query_seconds": _between(0.5, 10),
    "find.top_k": _between(1, MAX_TOP_K),
    "find.candidates": _between(1, 16384),  # Milvus caps a search at 16384 hits
    "find.fusion": _one_of("score", "rrf"),
    # Upper bounds too: these also come from requests (/api/rank), and no ranking needs more.
    "find.min_spread": _between(1e-6, 100),
    "find.rrf_k": _between(1e-6, 1e6),
    "find.weight_frames": _between(0, 1000),
    "find.weight_cues": _between(0, 1000),
    "find.weight_bm25": _between(0, 1000),
    "find.weight_audio": _between(0, 1000),
    "find.weight_picture": _between(0, 1000),
    "find.rel_threshold": _between(0, 1),
    "find.min_score": _between(0, 1000),
    "find.background": _between(0, 10),
    "find.min_coverage": _between(0, 1),
    "find.max_gap": _between(0, 3600),
    "find.max_len": _between(0.1, 86400),
    "chapters.min_length": _between(0, 86400),
    "find.pad": _between(0, 3600),
    "find.snap": _between(0, 60),
    "find.use_server": (lambda v: True, "true or false"),
    "find.resident": _one_of("auto", "off"),
    "ingest.extensions": (lambda v: bool(v) and all(re.fullmatch(r"\.?[A-Za-z0-9]+", e) for e in v),
                          "a non-empty list of file extensions"),
    "ingest.follow_links": (lambda v: True, "true or false"),
    "ingest.settle_seconds": _at_least(0),
    "ingest.retry_base": _at_least(1),
    "ingest.retry_max": _at_least(1),
    "serve.host": _matches(r"[A-Za-z0-9.:\-]{1,253}", "a host name or an IP address"),
    "serve.port": _between(1, 65535),
    "serve.token": _matches(r"|[A-Za-z0-9._~+/=-]{16,}",
                            "empty or at least 16 characters of letters, digits and . _ ~ + / = -"),
    "serve.allowed_hosts": (lambda v: all(re.fullmatch(r"[A-Za-z0-9.\-]{1,253}|\[?[0-9A-Fa-f:.]+\]?", h) for h in v),
                            "a list of host names or IP addresses"),
    "serve.thumb_cache_mb": _between(1, 1 << 20),
    "serve.max_clip": _between(1, 86400),
    "serve.hold": _between(0, 3600),
    "serve.idle": _between(0, 10080),
    "serve.page": _between(1, 200),
    "mcp.output_dir": (lambda v: "\0" not in v, "a folder path"),
    "mcp.max_clips": _between(1, 1_000_000),
    "mcp.max_clips_gb": _at_least(0, above=True),
}


def check_value(key: str, value: Any, origin: str) -> None:
    """A SettingsError unless `value` is one setting `key` may take; `origin` says where it came from."""
    ok, allowed = RULES[key]
    if not ok(value):
        raise SettingsError(f"setting {key} from {origin} must be {allowed}, not {value!r}")


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

        return EncoderOptions(self["device"], self["dtype"], self["batch_size"], self["engine"],
                              self["engine_precision"], self.home / "cache" / "models")

    def index_options(self):
        from vsearch.extract.ocr import OcrOptions
        from vsearch.extract.speech import SpeechOptions
        from vsearch.index import AudioOptions, IndexOptions

        def section(name: str) -> dict:
            return {k.split(".", 1)[1]: v for k, v in self.values.items() if k.startswith(name + ".")}

        return IndexOptions(**section("extract"), asr=SpeechOptions(device=self["device"], **section("asr")),
                            ocr=OcrOptions(**section("ocr")), audio=AudioOptions(**section("audio")),
                            cache=self.home / "cache")

    def find_options(self):
        from vsearch.query import FindOptions

        f = {k.split(".", 1)[1]: v for k, v in self.values.items() if k.startswith("find.") and k not in NOT_RANKING}
        weights = {name[len("weight_"):]: f.pop(name) for name in list(f) if name.startswith("weight_")}
        return FindOptions(weights=weights, **f)


def find_options_from(given: Mapping[str, Any], origin: str, base):
    """`base` (FindOptions) with the fields a request gives (top_k, candidates, fusion, weights
    {frames, cues, bm25, audio, picture}, sources, ...), each checked as its find.* setting; a
    SettingsError naming the field for anything else."""
    from dataclasses import fields, replace

    from vsearch.extract.types import Source

    if not isinstance(given, Mapping):
        raise SettingsError(f"{origin} must be an object of find options")
    names = {f.name for f in fields(base)}
    changes: dict[str, Any] = {}
    for name, value in given.items():
        if name not in names:
            raise SettingsError(f"unknown find option {name!r} in {origin}")
        if name == "weights":
            if not isinstance(value, Mapping):
                raise SettingsError(f"weights in {origin} must be an object of signal: weight")
            changes[name] = {signal: _strict(f"find.weight_{signal}", weight, origin)
                             for signal, weight in value.items()}
        elif name == "sources":
            if not (isinstance(value, (list, tuple)) and all(isinstance(v, str) and v in {*Source} for v in value)):
                raise SettingsError(f"sources in {origin} must be a list of {', '.join(Source)}")
            changes[name] = tuple(value)
        else:
            changes[name] = _strict(f"find.{name}", value, origin)
    return replace(base, **changes)


def _strict(key: str, value: Any, origin: str) -> Any:
    """A request's value of a setting: of the setting's own JSON type (no "7" for 7), within its rule."""
    if key not in RULES:
        raise SettingsError(f"unknown find option {key.removeprefix('find.')!r} in {origin}")
    like = default(key)
    kinds = (str,) if isinstance(like, str) else (int,) if isinstance(like, int) else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise SettingsError(f"{key.removeprefix('find.')} in {origin} must be a {type(like).__name__}, not {value!r}")
    try:
        value = type(like)(value)
    except OverflowError:  # an integer of 400 digits for a float
        raise SettingsError(f"{key.removeprefix('find.')} in {origin} is out of range") from None
    check_value(key, value, origin)
    return value


def load_settings(
    config_file: Path | None = None, flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Layer the sources; unknown keys and bad types are errors, not silently ignored."""
    values = defaults()
    explicit: set[str] = set()
    layers: list[tuple[str, Mapping[str, Any]]] = []
    if config_file is not None:
        try:
            layers.append((str(config_file), flatten(tomllib.loads(Path(config_file).read_text("utf-8")))))
        except OSError as exc:
            raise SettingsError(f"cannot read config {config_file} ({exc.strerror})") from None
        except UnicodeDecodeError as exc:
            raise SettingsError(f"config {config_file} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
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
            check_value(key, values[key], origin)
            explicit.add(key)
    return Settings(values, frozenset(explicit))
