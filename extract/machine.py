"""How much of this machine decoding may use: CPUs, memory, and readers worth running."""

import os


def cpu_count() -> int:
    """CPUs this process may run on (a container's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def int8_instructions() -> str:
    """The CPU's best int8 dot-product instructions ("avx512_vnni", "avx2", ...): ONNX Runtime's int8
    kernels differ with them, so vectors judged on one CPU may not hold on another."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = set(next((line for line in info if line.startswith("flags")), "").split())
    except OSError:  # not Linux
        return "unknown"
    return next((f for f in ("avx512_vnni", "avx_vnni", "avx512bw", "avx2") if f in flags), "other")


def memory_bytes() -> int:
    """Physical memory of this machine (0 where the OS won't say)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 0


def auto_readers(cores: int, file_bytes: int = 0, memory: int = 0) -> int:
    """Parallel decoders worth running on `cores` CPUs, each holding up to `file_bytes` of video.

    On an H100 machine's 16 cores one reader decoded a 720p film at 52-70 frames/s and eight
    at 116-145; on 2 cores a second reader only takes CPU from the encoder. While decoding, a
    decord reader reads the rest of its file into memory (it queues packets faster than it
    decodes them): a clip's worth, or the whole video where chunks cannot be clipped, so
    readers are also capped at a quarter of `memory` per `file_bytes`.
    """
    wanted = 1 if cores < 4 else min(8, cores // 2)
    if file_bytes > 0 and memory > 0:
        wanted = min(wanted, max(1, memory // 4 // file_bytes))
    return wanted
