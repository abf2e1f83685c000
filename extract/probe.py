"""What a container says about itself, read with PyAV rather than parsed from ffmpeg's banner."""

from pathlib import Path


def declared_duration(path: Path) -> float:
    """Seconds the container says its first video stream lasts (its own duration if the stream
    says none); 0.0 when it says nothing or cannot be read."""
    import av

    try:
        # A file object, since PyAV takes names as UTF-8 and some file names are not.
        with open(path, "rb") as fh, av.open(fh) as container:
            video = next(iter(container.streams.video), None)
            if video is not None and video.duration and video.time_base:
                return float(video.duration * video.time_base)
            return container.duration / 1e6 if container.duration else 0.0
    except (OSError, av.FFmpegError, ValueError):
        return 0.0


def video_codec(path: Path) -> str | None:
    """The codec of the first video stream ("h264", "av1", ...), or None when there is none or
    the file cannot be read."""
    import av

    try:
        with open(path, "rb") as fh, av.open(fh) as container:
            stream = next(iter(container.streams.video), None)
            return None if stream is None else stream.codec_context.codec.canonical_name
    except (OSError, av.FFmpegError, ValueError):
        return None


def frame_rate(path: Path) -> float:
    """Frames per second of the first video stream (its average, for a variable rate); 0.0 when
    the container does not say or cannot be read."""
    import av

    try:
        with open(path, "rb") as fh, av.open(fh) as container:
            stream = next(iter(container.streams.video), None)
            rate = stream and (stream.average_rate or stream.guessed_rate)
            return float(rate) if rate else 0.0
    except (OSError, av.FFmpegError, ValueError, ZeroDivisionError):
        return 0.0


def picture_size(path: Path) -> tuple[int, int]:
    """(width, height) of the first video stream's pictures; (0, 0) when unknown."""
    import av

    try:
        with open(path, "rb") as fh, av.open(fh) as container:
            stream = next(iter(container.streams.video), None)
            return (int(stream.codec_context.width), int(stream.codec_context.height)) if stream else (0, 0)
    except (OSError, av.FFmpegError, ValueError):
        return 0, 0


def soundtrack(path: Path) -> tuple[int, int, int] | None:
    """(audio streams, the first's channels, its sample rate; 0 where unknown), or None when the
    file has no sound or cannot be read."""
    import av

    try:
        with open(path, "rb") as fh, av.open(fh) as container:
            streams = container.streams.audio
            if not streams:
                return None
            first = streams[0].codec_context  # None for a codec this FFmpeg cannot decode: sound of no known kind
            channels, rate = (getattr(first, key, 0) or 0 for key in ("channels", "sample_rate"))
            return len(streams), int(channels), int(rate)
    except (OSError, av.FFmpegError, ValueError):
        return None
