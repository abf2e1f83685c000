"""One written form for Chinese text, so Traditional and Simplified spellings match each other.

Whisper writes Chinese in either script, often both in one transcript, and subtitles come in
both. The lexical index and queries see Simplified (script conversion only: zh-hans, not the
mainland vocabulary of zh-cn, so 資料庫 becomes 资料库, not 数据库); cues keep their original
text for display.
"""

import re

# CJK Unified Ideographs and extension A, and the compatibility block: text without them is
# returned as it is, without loading the conversion tables.
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def fold(text: str) -> str:
    """`text` with Traditional Chinese characters written in Simplified; other text unchanged."""
    if not _HAN.search(text):
        return text
    import zhconv

    return zhconv.convert(text, "zh-hans")
