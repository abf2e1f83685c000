"""Generate test media with ffmpeg's lavfi sources: known colour per stretch of seconds."""

import subprocess
from pathlib import Path

from vsearch.extract.ffmpeg import ffmpeg_exe

HEX = {"red": "0xFF0000", "green": "0x00FF00", "blue": "0x0000FF", "yellow": "0xFFFF00",
       "white": "0xFFFFFF", "black": "0x000000", "cyan": "0x00FFFF", "magenta": "0xFF00FF"}


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def colour_video(
    path: Path, stretches: list[tuple[str, float]], rate: str = "25", size: str = "64x48",
    audio: bool = False, rates: list[str] | None = None, codec: str = "libx264",
) -> Path:
    """Concatenate solid-colour stretches; `rates` gives each stretch its own frame rate (VFR)."""
    inputs, labels = [], []
    for i, (colour, seconds) in enumerate(stretches):
        r = rates[i] if rates else rate
        inputs += ["-f", "lavfi", "-i", f"color={HEX[colour]}:s={size}:r={r}:d={seconds}"]
        labels.append(f"[{i}:v]")
    graph = f"{''.join(labels)}concat=n={len(stretches)}:v=1:a=0,settb=1/90000[v]"
    total = sum(s for _, s in stretches)
    extra = ["-f", "lavfi", "-i", f"sine=frequency=440:duration={total}"] if audio else []
    out = ["-map", "[v]"] + (["-map", f"{len(stretches)}:a", "-c:a", "aac"] if audio else [])
    fps_mode = ["-fps_mode", "vfr"] if rates else ["-r", rate]
    ffmpeg(*inputs, *extra, "-filter_complex", graph, *out, *fps_mode, "-c:v", codec,
           "-pix_fmt", "yuv420p", str(path))
    return path


def numbered_video(path: Path, encode: list[str], seconds: int = 10, rate: int = 25) -> Path:
    """A video whose frame n is one solid colour that spells n (see `frame_number`), up to 255 frames."""
    assert seconds * rate <= 256
    source = f"nullsrc=s=64x48:r={rate}:d={seconds},format=rgb24,geq=r='mod(N\\,16)*16':g='floor(N/16)*16':b=128"
    ffmpeg("-f", "lavfi", "-i", source, *encode, "-pix_fmt", "yuv420p", str(path))
    return path


def frame_number(pixels) -> int:
    """Which frame of a `numbered_video` these pixels show."""
    red, green = pixels.reshape(-1, 3).mean(axis=0)[:2]
    return int(round(red / 16)) + 16 * int(round(green / 16))


def write_vtt(path: Path, cues: list[tuple[float, float, str]]) -> Path:
    def ts(t: float) -> str:
        return f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:06.3f}"

    body = "".join(f"{ts(a)} --> {ts(b)}\n{text}\n\n" for a, b, text in cues)
    path.write_text("WEBVTT\n\n" + body, encoding="utf-8")
    return path
