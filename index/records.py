"""What a row of the index holds: video records, and cue text as stored (folded for matching,
the original kept beside it), in forms Milvus stores losslessly."""

import hashlib
from dataclasses import dataclass

from vsearch.extract import Cue
from vsearch.extract.paths import is_clean, raw_bytes

# The longest cue text and video path stored, in bytes.
TEXT_BYTES = 8000
PATH_BYTES = 4096


@dataclass(frozen=True)
class VideoRecord:
    """What the index knows about one video."""

    id: int
    path: str
    fingerprint: str = ""
    duration: float = 0.0
    fps: float = 1.0
    model: str = ""
    state: str = "new"
    frames: int = 0
    cues: int = 0
    sounds: int = 0
    error: str = ""
    indexed_at: int = 0
    attempts: int = 0
    retry_at: int = 0
    info: dict | None = None

    @property
    def cuts(self) -> list[float] | None:
        """Where the video's shots begin (extract/shots.py); None if they were not looked for."""
        shots = (self.info or {}).get("shots")
        return None if shots is None else shots["cuts"]

    @property
    def file(self) -> dict | None:
        """The device and inode the video's file had when indexed (extract/identity.py); None for
        videos indexed before they were kept."""
        return (self.info or {}).get("file")

    @classmethod
    def from_dict(cls, fields: dict) -> "VideoRecord":
        """A record from stored JSON, ignoring keys a newer vsearch may have added."""
        fields = unpack(fields)
        return cls(**{k: v for k, v in fields.items() if k in cls.__dataclass_fields__})


_RAW = "$fsbytes"


def pack(value):
    """JSON-ready: strings with undecodable file-name bytes become {"$fsbytes": hex}, losslessly."""
    if isinstance(value, str):
        return value if is_clean(value) else {_RAW: raw_bytes(value).hex()}
    if isinstance(value, dict):
        return {k: pack(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [pack(v) for v in value]
    return value


def unpack(value):
    """The inverse of `pack`."""
    if isinstance(value, dict):
        if set(value) == {_RAW}:
            return bytes.fromhex(value[_RAW]).decode("utf-8", "surrogateescape")
        return {k: unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unpack(v) for v in value]
    return value


def video_id(path: str) -> int:
    """Stable 63-bit id of an absolute path, so filters never carry the path itself."""
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << 63) - 1)


def clip(text: str, limit: int) -> str:
    """Cut text to `limit` UTF-8 bytes without splitting a character."""
    data = text.encode("utf-8", "surrogateescape")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def cue_extra(cue: Cue, folded: str) -> dict:
    """What a cue row keeps beside its folded text: the text as written, word times, certainty."""
    extra = {}
    if folded != cue.text or len(cue.text.encode("utf-8", "surrogateescape")) > TEXT_BYTES:
        extra["shown"] = clip(cue.text, TEXT_BYTES)
    if cue.words:
        extra["words"] = [[int(o), float(t)] for o, t in cue.words]
    if cue.lang_prob:
        extra["p"] = cue.lang_prob
    return extra


def written(row: dict) -> dict:
    """A cue row's text as written, word times and language probability, from its `extra`."""
    extra = row.get("extra") or {}
    return {"text": extra.get("shown", row["text"]), "words": tuple(tuple(w) for w in extra.get("words", ())),
            "lang_prob": extra.get("p", 0.0)}
