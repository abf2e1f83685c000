"""Moments as an edit list: one clip per segment, through OpenTimelineIO (.otio as it is, .edl
and .fcpxml through its adapters), for an editor's timeline, with each video's sound where it has any."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from vsearch.extract.errors import VsearchError
from vsearch.extract.paths import display

# Suffix -> OpenTimelineIO adapter, and the package that brings it.
FORMATS = {".otio": ("otio_json", "opentimelineio"), ".edl": ("cmx_3600", "otio-cmx3600-adapter"),
           ".fcpxml": ("fcpx_xml", "otio-fcpx-xml-adapter")}
# What XML and an EDL's one-line comments cannot hold: control characters, undecodable bytes.
_UNSAYABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# A clip whose video states no frame rate is cut on this one's frames.
FALLBACK_RATE = 25.0
# The rates SMPTE timecode counts (OpenTimelineIO's to_timecode, and so an EDL, takes no other).
TIMECODE_RATES = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0, 48.0, 50.0, 60000 / 1001, 60.0)
INSTALL = "pip install 'vsearch[edit]'"
# An event line as the CMX 3600 adapter writes it: edit number, reel (padded or cut to 8), then
# its track field "V" (padded to 5) before the cut.
_EVENT = re.compile(r"^(\d{3,})(  .{8} )V    (?= C )", re.MULTILINE)
# What the FCP X adapter begins its file with, which ElementTree does not write back.
_FCPXML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n\n'


@dataclass(frozen=True)
class Sound:
    """A video's audio as an edit list declares it: audio streams, the first's channels and rate (0: unknown)."""

    streams: int = 1
    channels: int = 0
    rate: int = 0


def label(text: str) -> str:
    """A name an edit list can carry: one line (EDL comments end at a line break), no control
    characters or undecodable bytes (XML cannot hold them) and no ASCII quotes (the FCP X adapter
    puts clip names into an XPath predicate unescaped)."""
    text = _UNSAYABLE.sub(" ", text)
    return " ".join(text.split()).replace('"', "\u201d").replace("'", "\u2019")[:200]


def nominal(rate: float) -> float:
    """A frame rate as editors write it: NTSC's 30000/1001 and its kin as 29.97, 23.98 and 59.94
    (the names the EDL and FCP X adapters know), any other as it is."""
    for base in (24, 30, 60):
        if abs(rate - base * 1000 / 1001) < 1e-3:
            return round(base * 1000 / 1001, 2)
    return rate


def lines_up(rate: float, other: float) -> bool:
    """Whether one rate is a whole multiple of the other, so each frame of the slower starts on one of the faster."""
    ratio = max(rate, other) / min(rate, other)
    return abs(ratio - round(ratio)) < 1e-4


def timecode_rate(rate: float) -> float:
    """The SMPTE timecode rate an EDL of a `rate` video counts in: the nearest whose frames line up
    with the video's (its own where timecode has it), else the nearest."""
    near = sorted(TIMECODE_RATES, key=lambda standard: abs(standard - rate))
    return next((standard for standard in near if lines_up(standard, rate)), near[0])


def frame_of(seconds: float, rate: float) -> int:
    """The frame a time falls on, as a player shows it (rounding, not flooring, float noise)."""
    return round(seconds * rate)


def edit_list(segments: Sequence, name: str, videos: dict[str, tuple[float, float]], timecode: bool = False,
              sounds: dict[str, Sound] | None = None):
    """An OpenTimelineIO timeline with one clip per segment in ranked order, cut on its video's
    frames (`videos`: path -> (frames per second, seconds long)), or with `timecode` on those of
    its SMPTE timecode rate, and a marker at the seek offset naming what matched; where a video
    has sound (`sounds`: path -> Sound), an audio track holds the same clips beside it."""
    import opentimelineio as otio

    sounds = sounds or {}
    track = otio.schema.Track(name="moments", kind=otio.schema.TrackKind.Video)
    heard = otio.schema.Track(name="sound", kind=otio.schema.TrackKind.Audio)
    for n, seg in enumerate(segments, 1):
        rate, seconds = videos.get(seg.video, (0.0, 0.0))
        rate = rate or FALLBACK_RATE
        if timecode:  # counted afresh from the seconds, so the times hold to a frame at a rate an EDL can write
            rate = timecode_rate(rate)
        first, last = frame_of(seg.start, rate), max(frame_of(seg.end, rate), frame_of(seg.start, rate) + 1)
        named = nominal(rate)  # frames are counted at the true rate, labelled with the nominal one

        def at(frame: int):
            return otio.opentime.RationalTime(frame, named)

        whole = otio.opentime.TimeRange(at(0), at(max(frame_of(seconds, rate), last)))
        clip = otio.schema.Clip(
            name=label(f"{n:02d} {display(Path(seg.video).name)}"),
            media_reference=otio.schema.ExternalReference(target_url=Path(seg.video).as_uri(), available_range=whole),
            source_range=otio.opentime.TimeRange(at(first), at(last - first)))
        seek = min(max(frame_of(seg.seek, rate), first), last - 1)
        clip.markers.append(otio.schema.Marker(
            name=label(seg.cue or seg.source or "match"),
            marked_range=otio.opentime.TimeRange(at(seek), at(1)),
            metadata={"vsearch": {"score": seg.score, "source": seg.source or "", "seek": seg.seek}}))
        track.append(clip)
        heard.append(_audio_of(clip, sounds.get(seg.video)))
    made = otio.schema.Timeline(name=label(name))
    made.tracks.append(track)
    if any(seg.video in sounds for seg in segments):
        made.tracks.append(heard)
    return made


def _audio_of(clip, sound: Sound | None):
    """A clip's sound on the audio track: the clip without its marker, or a gap as long (keeping step) if silent."""
    import opentimelineio as otio

    if sound is None:
        return otio.schema.Gap(duration=clip.source_range.duration)
    same = clip.clone()
    same.markers.clear()
    same.metadata["vsearch"] = {"streams": sound.streams, "channels": sound.channels, "rate": sound.rate}
    return same


def check_format(out: Path) -> tuple[str, str]:
    """(the adapter, its package) for an edit list's file name; an error, before any search, for a
    suffix no adapter writes or an adapter not installed."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise VsearchError(f"{display(str(out))}: an edit list ends in {', '.join(FORMATS)}")
    adapter, package = FORMATS[suffix]
    try:
        import opentimelineio as otio

        if adapter not in otio.adapters.available_adapter_names():
            raise ImportError(package)
    except ImportError:
        raise VsearchError(f"writing {suffix} needs {package}: {INSTALL}") from None
    return adapter, package


def render(segments: Sequence, suffix: str, name: str, videos: dict[str, tuple[float, float]],
           sounds: dict[str, Sound] | None = None) -> str:
    """The segments as the text of an edit list in the format `suffix` names, with the sound of
    the videos in `sounds`; an error for no segments, or a list the format cannot hold."""
    adapter, _ = check_format(Path("moments" + suffix))
    if not segments:
        raise VsearchError("no matching moments to export")
    import opentimelineio as otio

    sounds = sounds or {}
    # Only .otio takes the audio track as it is: the EDL adapter writes the first track alone and
    # the FCP X one nests audio clips inside gaps, so those two get their sound written in after.
    made = edit_list(segments, name, videos, timecode=adapter == "cmx_3600",
                     sounds=sounds if adapter == "otio_json" else None)
    try:
        text = otio.adapters.write_to_string(made, adapter_name=adapter)
    except (otio.exceptions.OTIOError, ValueError) as exc:  # OpenTimelineIO's timecode errors are ValueErrors
        why = " ".join(str(exc).split())
        raise VsearchError(f"cannot write {suffix} ({why}); .otio and .fcpxml take any frame rate") from None
    if adapter == "cmx_3600":
        return edl_with_sound(text, [sounds.get(seg.video) for seg in segments])
    if adapter == "fcpx_xml":
        return fcpxml_with_sound(text, {Path(video).as_uri(): sound for video, sound in sounds.items()})
    return text


def track_field(sound: Sound | None) -> str:
    """An EDL event's CMX 3600 track field: V (picture), B (and audio 1: mono), AA/V (and audio 1, 2: more, unknown)."""
    if sound is None:
        return "V"
    return "B" if sound.channels == 1 else "AA/V"


def edl_with_sound(text: str, heard: Sequence[Sound | None]) -> str:
    """The EDL `text` with each event's track field naming its video's sound (`heard`: one per event, in order)."""
    # Event n is segment n: the video track holds the clips alone. Only the field changes, never a timecode.
    return _EVENT.sub(lambda event: f"{event[1]}{event[2]}{track_field(heard[int(event[1]) - 1]):5}", text)


def fcpxml_with_sound(text: str, sounds: dict[str, Sound]) -> str:
    """The FCPXML `text` with the assets of videos in `sounds` (by URL) declaring their audio, played by each moment."""
    # hasAudio, audioSources, audioChannels and audioRate are the asset's own attributes (FCPXML 1.8 as
    # in 1.10); an asset-clip plays its asset's picture and sound alike (srcEnable defaults to "all").
    root = ElementTree.fromstring(text)
    for asset in root.iter("asset"):
        sound = sounds.get(asset.get("src", ""))
        if sound is not None:
            asset.set("hasAudio", "1")
            asset.set("audioSources", str(sound.streams))
            for key, value in (("audioChannels", sound.channels), ("audioRate", sound.rate)):
                if value:
                    asset.set(key, str(value))
    for spine in root.iter("spine"):
        for n, clip in enumerate(list(spine)):
            video = clip.find("video")
            if clip.tag == "clip" and video is not None:  # the adapter's clip holding only the picture
                whole = ElementTree.Element("asset-clip", {"name": clip.get("name", ""), "ref": video.get("ref", "")})
                whole.attrib.update({key: clip.get(key) for key in ("offset", "start", "duration") if clip.get(key)})
                whole.extend(clip.findall("marker"))
                spine[n] = whole
    ElementTree.indent(root, "    ")
    return _FCPXML_HEAD + ElementTree.tostring(root, "unicode") + "\n"
