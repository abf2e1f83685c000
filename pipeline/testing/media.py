"""Generate test media with ffmpeg's lavfi sources: known colour per stretch of seconds."""

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from vsearch.extract.ffmpeg import ffmpeg_exe

if TYPE_CHECKING:
    import numpy as np

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


def shots_video(path: Path, shots: list[tuple[str, int]], rate: str = "25", size: str = "160x90",
                encode: tuple[str, ...] = ("-c:v", "libx264")) -> tuple[Path, list[int]]:
    """Shots of lavfi sources ("testsrc2", "mandelbrot", "life", ...), each `frames` long, cut
    together; returns the video and the frame numbers where each shot after the first begins."""
    inputs, parts = [], []
    for i, (source, frames) in enumerate(shots):
        inputs += ["-f", "lavfi", "-i", f"{source}=s={size}:r={rate}"]
        parts.append(f"[{i}:v]trim=end_frame={frames},setpts=PTS-STARTPTS,format=yuv420p[s{i}]")
    graph = ";".join(parts) + ";" + "".join(f"[s{i}]" for i in range(len(shots))) + f"concat=n={len(shots)}:v=1:a=0[v]"
    ffmpeg(*inputs, "-filter_complex", graph, "-map", "[v]", "-r", rate, *encode, "-pix_fmt", "yuv420p", str(path))
    starts = [sum(f for _, f in shots[: i + 1]) for i in range(len(shots) - 1)]
    return path, starts


def numbered_video(path: Path, encode: list[str], seconds: int = 10, rate: int = 25) -> Path:
    """A video whose frame n is one solid colour that spells n (see `frame_number`), up to 255 frames."""
    assert seconds * rate <= 256
    source = f"nullsrc=s=64x48:r={rate}:d={seconds},format=rgb24,geq=r='mod(N\\,16)*16':g='floor(N/16)*16':b=128"
    ffmpeg("-f", "lavfi", "-i", source, *encode, "-pix_fmt", "yuv420p", str(path))
    return path


def scenes_video(path: Path, seconds: int, seed: int = 0) -> Path:
    """A video whose every second is another picture (colours and gradients), so each 1 fps frame
    is encoded, none a copy of another."""
    source = (f"nullsrc=s=64x48:r=5:d={seconds},geq=r='mod(floor(T)*37+{seed}\\,256)':"
              f"g='mod(floor(T)*91+Y*3+{seed * 7}\\,256)':b='mod(X*4+floor(T)*13\\,256)'")
    ffmpeg("-f", "lavfi", "-i", source, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))
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


CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def speak(path: Path, text: str, voice: str = "en-us", speed: int = 140) -> Path:
    """Synthesised speech (espeak-ng) as a WAV file."""
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True,
                   capture_output=True)
    return path


def slide(lines: list[str], size: tuple[int, int], colour=(250, 250, 240)):
    """A slide: dark text lines on a plain background, as RGB pixels (needs fonts-noto-cjk)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(CJK_FONT, max(16, size[1] // 14))
    for i, line in enumerate(lines):
        draw.text((size[0] // 12, size[1] // 8 + i * size[1] // 7), line, font=font, fill=(20, 20, 30))
    return np.asarray(image)


def lecture_video(path: Path, slides: list[tuple[float, list[str], str]], size=(960, 540)) -> Path:
    """Slides held for their seconds, each narrated from its start (espeak-ng), as one MP4.

    `slides` is (seconds, text lines on the slide, narration); narration "" is silence.
    """
    import shutil
    import tempfile

    from PIL import Image

    work = Path(tempfile.mkdtemp(prefix="lecture-"))
    inputs, graph = [], []
    for i, (seconds, lines, narration) in enumerate(slides):
        png = work / f"s{i}.png"
        Image.fromarray(slide(lines, size, (250 - 8 * (i % 4), 248, 235 + 5 * (i % 3)))).save(png)
        inputs += ["-loop", "1", "-t", str(seconds), "-framerate", "25", "-i", str(png)]
        if narration:
            inputs += ["-i", str(speak(work / f"s{i}.wav", narration))]
        else:
            inputs += ["-f", "lavfi", "-t", str(seconds), "-i", "anullsrc=r=22050:cl=mono"]
        graph.append(f"[{2 * i}:v]format=yuv420p,setsar=1[v{i}];[{2 * i + 1}:a]aresample=22050,"
                     f"apad,atrim=0:{seconds},asetpts=N/SR/TB[a{i}]")
    joined = "".join(f"[v{i}][a{i}]" for i in range(len(slides)))
    ffmpeg(*inputs, "-filter_complex", ";".join(graph) + f";{joined}concat=n={len(slides)}:v=1:a=1[v][a]",
           "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast", "-r", "25",
           "-c:a", "aac", str(path))
    shutil.rmtree(work)
    return path


def sound_video(path: Path, stretches: list[tuple[str, float]], colour: str = "black", size: str = "64x48",
                colours: list[str] | None = None) -> Path:
    """A video whose soundtrack is stretches of `hum`/`beep`/`whistle`/`chirp` tones
    (pipeline/testing/tone_encoder.py), `noise` (white) or `silence`, each for its seconds; the picture is
    `colour`, or each stretch's colour in `colours`."""
    from vsearch.testing.tone_encoder import TONES

    colours = colours or [colour] * len(stretches)
    inputs, graph = [], []
    for i, ((sound, seconds), hue) in enumerate(zip(stretches, colours)):
        source = (f"sine=frequency={TONES[sound]:g}:duration={seconds}" if sound in TONES
                  else f"anoisesrc=d={seconds}:c=white:a=0.3" if sound == "noise"
                  else f"anullsrc=r=44100:cl=mono,atrim=0:{seconds}")
        inputs += ["-f", "lavfi", "-i", source, "-f", "lavfi", "-i", f"color={HEX[hue]}:s={size}:r=25:d={seconds}"]
        graph.append(f"[{2 * i}:a]aresample=44100,aformat=channel_layouts=mono[a{i}]")
    joined = "".join(f"[{2 * i + 1}:v][a{i}]" for i in range(len(stretches)))
    graph.append(f"{joined}concat=n={len(stretches)}:v=1:a=1[v][a]")
    ffmpeg(*inputs, "-filter_complex", ";".join(graph), "-map", "[v]", "-map", "[a]", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", "-r", "25", "-c:a", "aac", str(path))
    return path


TEMPLATE = (246, 240, 222)  # one cream background for every slide of a template deck


def template_slide(title: str, lines: list[str], page: int | None, size=(1280, 720), inset=None):
    """A slide of a shared template: the title top-left, lines below, the page number bottom-right,
    on one cream background with a rule under the title, as RGB pixels (needs fonts-noto-cjk).

    Only the words differ from slide to slide, as in a real deck. `inset` (w, h) leaves a grey box
    bottom-left where a speaker's video is composited.
    """
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    w, h = size
    image = Image.new("RGB", size, TEMPLATE)
    draw = ImageDraw.Draw(image)
    big = ImageFont.truetype(CJK_FONT, h // 12)
    body = ImageFont.truetype(CJK_FONT, h // 20)
    small = ImageFont.truetype(CJK_FONT, max(14, h // 36))
    draw.text((w // 20, h // 18), title, font=big, fill=(40, 40, 60))
    draw.line((w // 20, h // 18 + h // 9, w - w // 20, h // 18 + h // 9), fill=(180, 120, 60), width=max(2, h // 240))
    for i, line in enumerate(lines):
        draw.text((w // 16, h // 4 + i * h // 9), line, font=body, fill=(30, 30, 40))
    if page is not None:
        draw.text((w - w // 14, h - h // 14), str(page), font=small, fill=(90, 90, 100))
    if inset:
        draw.rectangle((0, h - inset[1], inset[0], h), fill=(60, 60, 60))
    return np.asarray(image)


def stills_video(path: Path, stills: list[tuple[float, "np.ndarray"]], narration: list[str] | None = None,
                 filters: str = "", rate: str = "25", inset: tuple[int, int] | None = None) -> Path:
    """Pictures held for their seconds, as one H.264 MP4; with `narration` (one text per picture,
    "" for silence) an espeak-ng soundtrack speaks each from its picture's start. `filters` is an
    ffmpeg filter chain applied to the joined picture (a camera's view, noise); `inset` (w, h)
    composites a moving test pattern bottom-left, as a speaker's video in a lecture recording."""
    import shutil
    import tempfile

    from PIL import Image

    work = Path(tempfile.mkdtemp(prefix="stills-"))
    inputs, graph = [], []
    for i, (seconds, pixels) in enumerate(stills):
        png = work / f"s{i}.png"
        Image.fromarray(pixels).save(png)
        inputs += ["-loop", "1", "-t", str(seconds), "-framerate", rate, "-i", str(png)]
        graph.append(f"[{i}:v]format=yuv420p,setsar=1[v{i}]")
    n = len(stills)
    total = sum(s for s, _ in stills)
    video = f"{''.join(f'[v{i}]' for i in range(n))}concat=n={n}:v=1:a=0[joined]"
    last = "joined"
    if inset:
        inputs += ["-f", "lavfi", "-i", f"testsrc2=s={inset[0]}x{inset[1]}:r={rate}:d={total}"]
        video += f";[{last}][{n}:v]overlay=0:H-h:shortest=1[inset]"
        last = "inset"
        n += 1
    if filters:
        video += f";[{last}]{filters}[cam]"
        last = "cam"
    graph.append(video)
    maps = ["-map", f"[{last}]"]
    if narration:
        voices = []
        for said, at in zip(narration, [sum(s for s, _ in stills[:i]) for i in range(len(stills))]):
            if said:
                inputs += ["-i", str(speak(work / f"n{len(voices)}.wav", said))]
                graph.append(f"[{n}:a]aresample=22050,adelay={int(at * 1000)}:all=1[a{len(voices)}]")
                voices.append(f"[a{len(voices)}]")
                n += 1
        inputs += ["-f", "lavfi", "-t", str(total), "-i", "anullsrc=r=22050:cl=mono"]
        graph.append(f"[{n}:a]{''.join(voices)}amix=inputs={len(voices) + 1}:duration=first:normalize=0[a]")
        maps += ["-map", "[a]", "-c:a", "aac"]
    ffmpeg(*inputs, "-filter_complex", ";".join(graph), *maps, "-c:v", "libx264", "-preset", "veryfast",
           "-pix_fmt", "yuv420p", "-r", rate, "-t", str(total), str(path))
    shutil.rmtree(work)
    return path


# A camera filming a projected slide: keystone perspective, sensor noise that changes every frame,
# and brightness that drifts as auto-exposure hunts.
FILMED = ("perspective=x0=40:y0=30:x1=W-20:y1=10:x2=20:y2=H-10:x3=W-50:y3=H-40:sense=destination,"
          "noise=alls=10:allf=t,eq=brightness='0.025*sin(2*PI*t/11)':eval=frame")


def code_page(lines: list[str], size=(1280, 720), top: int = 0):
    """A screen recording's editor: monospaced code lines on a dark background, scrolled `top`
    lines down (needs fonts-noto-cjk for the CJK comments)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    w, h = size
    image = Image.new("RGB", size, (30, 32, 38))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(CJK_FONT, h // 30)
    step = h // 22
    for row, line in enumerate(lines[top:top + 21]):
        draw.text((w // 24, h // 40 + row * step), f"{top + row + 1:3d}  {line}", font=font, fill=(220, 220, 200))
    return np.asarray(image)
