"""Opening a video for decord: checks, a remux where decord's seeks or frame count need one,
and PyAV for streams decord's own FFmpeg cannot decode (AV1)."""

from dataclasses import dataclass
from pathlib import Path

from vsearch.extract.errors import MediaError

from .ffmpeg import last_line, run_ffmpeg
from .native import captured_stderr, reason
from .paths import is_clean
from .probe import video_codec
from .scratch import scratch_dir


@dataclass(frozen=True)
class FrameSpec:
    """Pixel size a model wants: `cover` keeps aspect and centre-crops, `stretch` squashes."""

    width: int
    height: int
    resize: str = "cover"


def check_file(path: Path) -> None:
    """Fail with a one-line MediaError unless `path` is a non-empty file."""
    if not path.exists():
        raise MediaError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise MediaError(f"{path}: is a folder; use `vsearch ingest` for folders")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: empty file (0 bytes); re-copy or re-encode it")


# Codecs decord's bundled FFmpeg has no decoder for: read through PyAV from the start.
PYAV_CODECS = {"av1"}


def _open(path: Path, spec: FrameSpec | None, threads: int, pyav: bool = False):
    """A decord reader, or with `pyav` a PyAVReader, decoding at the size `spec` asks for."""
    if pyav:
        from .pyav_reader import PyAVReader

        reader = PyAVReader(path, threads)
        if spec is not None:
            reader.size = decode_size(reader.width, reader.height, spec)
        if len(reader):
            reader[0]  # as decord does on opening: a stream that cannot decode its first frame fails here
        return reader
    import decord

    decord.logging.set_level(decord.logging.QUIET)
    probe = decord.VideoReader(str(path), num_threads=1)
    if spec is None or len(probe) == 0:
        return probe
    height, width = probe[0].shape[:2]
    del probe
    w, h = decode_size(width, height, spec)
    return decord.VideoReader(str(path), width=w, height=h, num_threads=threads)


def _copy_video(path: Path, out: Path, before: tuple[str, ...] = (), after: tuple[str, ...] = ()) -> Path:
    """Stream-copy the first video stream of `path` into `out`, with extra input and output options."""
    done = run_ffmpeg(["-y", *before, "-i", str(path), "-map", "0:v:0", "-c", "copy", *after, str(out)], 3600)
    if done is None or done.returncode != 0:
        raise OSError(f"cannot remux {path} ({last_line(done)})")
    return out


def is_avi(path: Path) -> bool:
    """Whether `path` is an AVI file (RIFF of form "AVI "), whatever its name says."""
    with path.open("rb") as f:
        head = f.read(12)
    return head[:4] == b"RIFF" and head[8:12] == b"AVI "


def _from_avi(path: Path, folder: str) -> Path:
    """The video of an AVI as Matroska with presentation times, which decord seeks in correctly.

    AVI stores frames in decoding order without presentation times, and DivX/Xvid pack each
    B-frame with the frame after it: decord's seeks there land seconds off (Megamind.avi's frame
    107 came back as frame 9). In Matroska, with times made from the frame rate, they land right
    and the file can be clipped. H.264 in AVI stays wrong: times made in decoding order are not
    the display order.
    """
    return _copy_video(path, Path(folder) / "remux.mkv", ("-fflags", "+genpts"))


def open_reader(path: Path, spec: FrameSpec | None = None, threads: int = 0):
    """Open a decord reader at the size `spec` asks for; returns (reader, file opened, temp folder or None).

    AVI is remuxed once to Matroska (`_from_avi`), and containers without a frame count (VFR
    Matroska, some streams) to MP4. Codecs decord cannot decode (AV1) are read through PyAV
    (extract/pyav_reader.py), as is any video stream decord cannot open that PyAV can.
    """
    check_file(path)
    # Absolute, so that FFmpeg never reads "name:" at the start of a relative path as a protocol.
    original = path.absolute()
    source, tmp = original, scratch_dir()
    try:
        if not is_clean(str(original)):  # decord takes only UTF-8 names: give it a link with one
            source = original = Path(tmp.name) / "video"
            original.symlink_to(path.absolute())
        if is_avi(original):
            try:
                source = _from_avi(original, tmp.name)
            except OSError:  # no video stream, a full disk: decord reads the AVI
                source = original
        codec = video_codec(original)
        reader = failure = None
        with captured_stderr() as native:
            for how in ("pyav",) if codec in PYAV_CODECS else ("decord", "mp4", "pyav"):
                if how == "pyav" and codec is None:
                    break  # PyAV sees no video stream either
                try:
                    if how == "mp4":  # an MP4 copy gives decord the frame count some containers lack (VFR Matroska)
                        source = _copy_video(original, Path(tmp.name) / "remux.mp4")
                    elif how == "pyav":
                        source = original
                    reader = _open(source, spec, threads, pyav=how == "pyav")
                    break
                except Exception as exc:  # decord raises RuntimeError or DECORDError, PyAV FFmpegError
                    failure = failure or exc
        if reader is None:
            why = reason(failure, native)
            raise MediaError(f"{path}: not a readable video ({f'{codec} video: {why}' if codec else why}); "
                             "if it is truncated or corrupt, re-download or re-encode it")
        if len(reader) == 0:
            raise MediaError(f"{path}: no decodable video frames (audio-only or empty stream)")
    except BaseException:
        tmp.cleanup()
        raise
    if source == path.absolute():
        tmp.cleanup()
        tmp = None
    return reader, source, tmp


def decode_size(width: int, height: int, spec: FrameSpec) -> tuple[int, int]:
    """Size to ask the decoder for, so only a centre crop remains to do."""
    if spec.resize == "stretch" or width <= 0 or height <= 0:
        return spec.width, spec.height
    scale = max(spec.width / width, spec.height / height)
    return max(spec.width, round(width * scale)), max(spec.height, round(height * scale))
