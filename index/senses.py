"""Which senses a stored video still lacks: speech, screen text or sounds whose model could not
run when it was indexed (`failed`), or that were off then and are wanted now (`lacking`), and a
picture model's vectors named since. The next `ingest` adds them without encoding its frames again."""


def failed(info: dict | None) -> dict[str, str]:
    """Sense ("asr", "ocr", "audio") -> why it could not run, for a video's record."""
    info = info or {}
    asr, ocr, audio = info.get("asr") or {}, info.get("ocr") or {}, info.get("audio") or {}
    out = {}
    # As index/indexer.py records a model that could not load or run.
    if asr.get("skipped") == "failed":
        out["asr"] = _warning(info, "speech not transcribed") or "the speech model could not run"
    if ocr.get("state") == "failed":
        out["ocr"] = _warning(info, "on-screen text not read") or "the screen-text model could not run"
    if str(audio.get("skipped", "")).startswith("failed"):
        out["audio"] = _warning(info, "sounds not embedded") or audio["skipped"]
    return out


def lacking(info: dict | None, options) -> dict[str, str]:
    """Sense -> why it is missing, for the senses `options` (IndexOptions) want that the record
    lacks: failed ones, and ones that were off when the video was indexed."""
    info = info or {}
    # audio.mode auto embeds only where a GPU is visible, so only "on" asks for sounds a video lacks.
    wanted = {"asr": options.asr.mode != "off", "ocr": options.ocr.mode != "off", "audio": options.audio.mode == "on",
              "picture": options.picture != "none"}
    out = failed(info)
    if (info.get("asr") or {}).get("skipped") in ("asr.mode is off", "stopped"):
        out["asr"] = "speech was off when it was indexed"
    if (info.get("ocr") or {}).get("state") == "off":
        out["ocr"] = "screen text was off when it was indexed"
    if (info.get("audio") or {}).get("skipped") == "audio.mode is off":
        out["audio"] = "sounds were off when it was indexed"
    if not info.get("pictures"):
        out["picture"] = "indexed before the picture model was named"
    return {sense: why for sense, why in out.items() if wanted[sense]}


def attempt_key(options) -> dict[str, str]:
    """What a retry of each sense depends on: another model named is worth trying at once."""
    return {"asr": f"{options.asr.mode}:{options.asr.model}", "ocr": options.ocr.mode,
            "audio": options.audio.mode, "picture": options.picture}


def _warning(info: dict, marker: str) -> str:
    found = [w for w in info.get("warnings", []) if marker in w]
    return found[0].split(": ", 1)[-1] if found else ""
