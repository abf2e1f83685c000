"""extract/native.py: freed memory goes back to the system."""

import subprocess
import sys

import pytest

# Fragments the heap the way an ingest's loaders do: many small blocks, most freed, a few kept
# between them, so glibc cannot shrink its heap from the top by itself.
FRAGMENT = """
from vsearch.extract.native import malloc_trim

def rss():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmRSS:"))

blocks = [bytearray(32 << 10) for _ in range(8000)]  # 250 MB in 32 KiB blocks, under mmap's threshold
kept = blocks[::50]
del blocks
before = rss()
malloc_trim()
print(before, rss())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_give_back_returns_the_free_memory_between_live_blocks():
    done = subprocess.run([sys.executable, "-c", FRAGMENT], capture_output=True, text=True, check=True)
    before, after = map(int, done.stdout.split())
    assert before > 200 and after < before - 150, (before, after)



TRIMMING = FRAGMENT.replace("malloc_trim()", "import time\nfrom vsearch.extract.native import trimming\n"
                            "with trimming(0.05):\n    time.sleep(0.5)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_trimming_gives_back_what_threads_free_while_inside():
    done = subprocess.run([sys.executable, "-c", TRIMMING], capture_output=True, text=True, check=True)
    before, after = map(int, done.stdout.split())
    assert before > 200 and after < before - 150, (before, after)
