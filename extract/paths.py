"""File names that are not valid UTF-8 (old Samba shares, zip extracts), shown and stored losslessly.

Python hands such names over with each undecodable byte as a lone surrogate (PEP 383), which
no UTF-8 stream, JSON field or C library accepts. Every place that shows or stores a path goes
through these, so the real file is still the one opened, played and found.
"""

import re
import shlex
from pathlib import Path
from urllib.parse import quote

_SURROGATE = re.compile("[\udc80-\udcff]")
# C0, DEL, C1 and the Unicode line and paragraph separators: in a name shown as is they would
# break a line of output in two (forging a line of a log) or drive the terminal (ESC).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def is_clean(text: str) -> bool:
    """Whether `text` encodes as UTF-8 (no undecodable bytes from a file name)."""
    return not _SURROGATE.search(text)


def _escaped(char: str) -> str:
    r"""A control character as \n, \xNN, or from U+0080 up \uNNNN: \xNN there would stand for a byte."""
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x80 else f"\\u{ord(char):04x}")


def raw_bytes(text: str) -> bytes:
    """The bytes a file name really has."""
    return text.encode("utf-8", "surrogateescape")


def encodable(text: str) -> str:
    r"""`text` with each undecodable byte as \xNN (`caf\xe9.mp4`): what UTF-8 alone can carry."""
    return raw_bytes(text).decode("utf-8", "backslashreplace") if not is_clean(text) else text


def display(text: str) -> str:
    r"""Printable form: each undecodable byte as \xNN (`caf\xe9.mp4`), control characters as \n, \x1b, \u2028."""
    return _CONTROL.sub(lambda m: _escaped(m.group()), encodable(text))


def shell_quote(path: str) -> str:
    r"""A shell word for `path`: shlex quoting, or bash/zsh's $'...' for undecodable bytes or control characters."""
    if is_clean(path) and not _CONTROL.search(path):
        return shlex.quote(path)
    out = []
    for char in path:
        if _SURROGATE.fullmatch(char):
            out.append(f"\\x{ord(char) - 0xDC00:02x}")
        elif _CONTROL.fullmatch(char):
            out.append(_escaped(char))
        elif char in "\\'":
            out.append("\\" + char)
        else:
            out.append(char)
    return "$'" + "".join(out) + "'"


def file_url(path: str) -> str:
    """A file:// URL of the real bytes (percent-encoded)."""
    return "file://" + quote(raw_bytes(path))


def escape_json(text: str) -> str:
    r"""JSON text (from json.dumps with ensure_ascii=False) with lone surrogates as \udcNN escapes.

    Valid UTF-8, and a JSON reader gets the same surrogates back, which os.fsencode turns into the
    file's real bytes.
    """
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def absolute(path: str | Path) -> Path:
    """Absolute, symlink-resolved path as the index stores it, whether or not it exists."""
    return Path(path).expanduser().resolve()
