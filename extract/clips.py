"""Cut a stretch of a video into a small stream-copied clip, so its decoder only ever sees that stretch.

While decoding, decord reads the rest of its file into memory (its reading loop queues packets
faster than frames come out), so a reader on a 1.4 GB file held 1.4 GB. A reader on a clip of
one chunk holds at most that clip. Clips keep the original packets and timestamps (`-c copy
-copyts`), and ffmpeg lists every packet it wrote: frames are matched by exact timestamps, so a
frame taken from a clip is the frame that decoding the file from its start gives, and a chunk
that cannot be matched is decoded from the whole file instead.

H.264 frames that no other frame is predicted from (nal_ref_idc 0: most B-frames) are left out
of a clip unless they are wanted, so the decoder skips about half a film's frames without
changing a single pixel of the frames it shows.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .ffmpeg import clip_ffmpeg, run_ffmpeg

# Video streams that are not cover pictures: clips are made only when there is one, the one
# decord decodes.
_VIDEO = "0:V"
# Codecs whose stream-copied clips were checked frame for frame against decoding the whole file
# (mpeg4 is DivX/Xvid, msmpeg4v3 DivX 3, both mostly met in AVI). MPEG-2 in Matroska decoded to
# other pictures, and MPEG-TS seeks land after the wanted time.
_CODECS = {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "msmpeg4v3", "mjpeg"}
# ffmpeg seeks to the last keyframe decoded before a time, and a frame shown just before a
# keyframe is decoded after it (open GOPs): a clip starts a second early to hold such frames.
_LEAD_SECONDS = 1.0
# Decoding a frame needs the packets before it up to a keyframe and, with B-frames, a few after.
_TAIL_SECONDS = 2.0
# Lists the packets that hold anything but H.264 non-reference pictures; a packet of which only
# some pictures are non-reference (a field pair) stays, so only packets nothing depends on vanish.
_REFERENCES = ["-bsf:v", "filter_units=discard=nonref:discard_flags=keep_non_vcl"]
# A drop expression longer than this stays off the command line (Linux caps one argument at
# 128 KiB); such a clip keeps its disposable frames.
_MAX_EXPRESSION = 100_000


@dataclass(frozen=True)
class Listing:
    """Presentation timestamps of a video stream's frames, in decord's frame order."""

    pts: np.ndarray
    codec: str
    # Display positions of the keyframes.
    keys: np.ndarray
    # Per frame: True where no other frame depends on it, so a clip may leave it out.
    disposable: np.ndarray


def _listing(args: list[str], copy: list[str], timeout: float) -> Listing | None:
    """What ffmpeg copies, listed; None if a packet lacks a timestamp, or the codec is not one
    clips are trusted with."""
    exe = clip_ffmpeg()
    if exe is None:  # decord decodes without ffmpeg
        return None
    done = run_ffmpeg([*args, *copy, "-f", "framecrc", "pipe:1"], timeout, exe)
    if done is None or done.returncode != 0:
        return None
    pts, keys = [], []
    codec = None
    for line in done.stdout.decode("ascii", "replace").splitlines():
        if line.startswith("#codec_id"):
            codec = line.split(":", 1)[-1].strip()
        if line.startswith("#"):
            continue
        fields = line.split(",")
        try:
            if int(fields[0]) != 0:
                return None  # a second video stream: decord might decode the other one
            pts.append(int(fields[2]))
            # framecrc writes flags only when they are not just "key"
            keys.append(len(fields) < 7 or bool(int(fields[6].split("=")[1], 16) & 1))
        except (IndexError, ValueError):
            return None  # "NOPTS": timestamps made up by the demuxer, nothing to match on
    decoding = np.asarray(pts, dtype=np.int64)
    ordered = np.sort(decoding)
    if codec not in _CODECS or not ordered.size or np.any(np.diff(ordered) <= 0):
        return None
    shown_at = np.searchsorted(ordered, decoding)
    key_at = np.flatnonzero(keys)
    return Listing(ordered, codec, np.sort(shown_at[key_at]),
                   np.zeros(len(ordered), bool))


def packet_times(path: Path, frames: int) -> Listing | None:
    """The `frames` frames decord counts in `path`, listed; None if they cannot be listed exactly."""
    listing = _listing(["-i", str(path)], _copy(), timeout=3600)
    if listing is None or len(listing.pts) != frames:
        return None
    if listing.codec == "h264":
        # An older FFmpeg, whose filter_units has no discard option, fails here: nothing is left out.
        references = _listing(["-i", str(path)], _copy(*_REFERENCES), timeout=3600)
        if references is not None:
            listing = replace(listing, disposable=~np.isin(listing.pts, references.pts))
    return listing


def skippable(listing: Listing, first: int, last: int, wanted: np.ndarray) -> np.ndarray:
    """Timestamps of the disposable frames that a clip of frames `first` to `last` may leave out,
    none of them `wanted`: from the keyframe two before `first` (the clip's lead) to the one after `last`."""
    k = int(np.searchsorted(listing.keys, first, side="right"))
    lo = int(listing.keys[max(0, k - 2)]) if k else 0
    k = int(np.searchsorted(listing.keys, last, side="right"))
    hi = int(listing.keys[k]) if k < len(listing.keys) else len(listing.pts)
    return np.setdiff1d(listing.pts[lo:hi][listing.disposable[lo:hi]], wanted)


def cut(path: Path, start: float, end: float, out: Path, leave_out: Iterable[int] = ()) -> np.ndarray | None:
    """Copy the packets from the keyframe before `start` to past `end` (seconds from the file's
    start) into `out`, but those whose timestamp is in `leave_out`; returns the clip's timestamps
    in decord's frame order, None if it failed."""
    before = max(0.0, start - _LEAD_SECONDS)
    # Frames shown before the first keyframe (open GOPs) reference pictures left out of the clip:
    # decoders drop them, which would shift decord's frame count, so they are not copied at all.
    drop = _any_of(["lt(pts\\,startpts)"] + [f"eq(pts\\,{int(p)})" for p in leave_out])
    if len(drop) > _MAX_EXPRESSION:
        drop = "lt(pts\\,startpts)"
    copy = _copy("-bsf:v", f"noise=drop={drop}")
    listing = _listing(["-y", "-ss", f"{before:.6f}", "-t", f"{end - before + _TAIL_SECONDS:.6f}", "-i", str(path),
                         *copy, str(out)], copy, timeout=600)
    return None if listing is None else listing.pts


def _any_of(terms: list[str]) -> str:
    """The sum of `terms` as a balanced tree: FFmpeg refuses expressions nested 100 deep, which
    a flat a+b+c+... of 100 terms already is."""
    if len(terms) == 1:
        return terms[0]
    half = len(terms) // 2
    return f"({_any_of(terms[:half])}+{_any_of(terms[half:])})"


def _copy(*extra: str) -> list[str]:
    return ["-map", _VIDEO, "-c", "copy", "-copyts", *extra]


def locate(wanted_pts: np.ndarray, clip_pts: np.ndarray) -> np.ndarray | None:
    """Frame indices in the clip of the wanted timestamps; None unless every one is there."""
    pos = np.searchsorted(clip_pts, wanted_pts)
    if np.any(pos >= len(clip_pts)) or np.any(clip_pts[np.minimum(pos, len(clip_pts) - 1)] != wanted_pts):
        return None
    return pos
