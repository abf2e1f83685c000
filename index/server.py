"""What vsearch needs of a Milvus server, asked once it connects, before anything is created."""

import re

# Array fields and array_contains_any (the words of cues, index/lexical.py), upsert and count(*)
# came with Milvus 2.3; nothing newer is needed (docs/scale.md: the versions tested).
OLDEST = (2, 3)


def refusal(version: str, uri: str) -> str | None:
    """Why a server of `version` cannot hold an index, in one line; None where it can, or where
    the version is not a Milvus release number (a managed service's own, left to answer for itself)."""
    found = re.match(r"v?(\d+)\.(\d+)", (version or "").strip())
    if not found or (int(found[1]), int(found[2])) >= OLDEST:
        return None
    return (f"Milvus at {uri} is {version.strip()}, and vsearch needs Milvus {OLDEST[0]}.{OLDEST[1]} or newer "
            "(array fields for the words of cues, upsert, count): upgrade the server, "
            "or use Milvus Lite (leave --uri unset)")


def listening(uri: str) -> bool:
    """Whether something accepts connections at the URI's host and port: a server that is there
    but would not let vsearch in (pymilvus says the same of both) refused the token."""
    import socket
    from urllib.parse import urlsplit

    try:
        place = urlsplit(uri)
        port = place.port or (443 if place.scheme == "https" else 19530)
        with socket.create_connection((place.hostname or "localhost", port), timeout=3):
            return True
    except (OSError, ValueError):
        return False
