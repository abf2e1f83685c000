"""A model's similarity levels, measured on probes whose answers are known.

A similarity means little on its own: CLIP's matching captions score about 0.3, SigLIP's about
0.1, a sentence model's about 0.5. Each model is measured per script on probes: the median
similarity of the right pairs is its "match" level, the 95th percentile of the wrong pairs its
"unrelated" level. A hit's share is where its similarity lies between the two. A script a model
does not tell apart (an English-only model on Chinese, random weights on anything) gets no levels,
and queries in it get nothing from that model instead of noise. The index's meta row keeps the
image and text models' levels, so searching processes do not measure again; a sound model's are
measured where it is loaded with its text tower, to search (ingest loads only the audio tower).
"""

import numpy as np

Levels = dict[str, tuple[float, float] | None]

# Paraphrase pairs that share few words, per script.
TEXT_PROBES = {"latin": [
    ("where can I read this book", "the text is available online for free"),
    ("the weather is getting worse", "a storm is coming tonight"),
    ("how do I cook rice", "boil the grains in water for twenty minutes"),
    ("someone is playing the piano", "a musician performs at the keyboard"),
    ("the car would not start", "the engine failed this morning"),
    ("they won the football match", "the team scored the winning goal"),
    ("a vector database stores embeddings", "this system keeps numeric representations for search"),
    ("the price of the house went up", "homes became more expensive this year"),
], "han": [
    ("讲到向量数据库的部分", "这里介绍用于相似度检索的向量存储系统"),
    ("今天天气很冷", "外面气温降到了零度以下"),
    ("他们在餐厅吃饭", "一家人在饭店里用餐"),
    ("火车晚点了", "列车没有按时到站"),
    ("孩子们在公园里玩", "小朋友在草地上追逐嬉戏"),
    ("这本书在网上可以免费阅读", "你可以在互联网上看到全文"),
    ("他生病了去看医生", "身体不舒服所以去了医院"),
    ("我们明天去爬山", "第二天大家打算登上山顶"),
]}

# Plain colours: pictures any image model can be shown without carrying image files, and a
# caption every image-text model should match to its own colour. Far-apart colours only, so
# that a wrong pair is wrong.
COLOURS = {
    "red": ((255, 0, 0), "红色"), "green": ((0, 255, 0), "绿色"), "blue": ((0, 0, 255), "蓝色"),
    "yellow": ((255, 255, 0), "黄色"), "black": ((0, 0, 0), "黑色"), "white": ((255, 255, 255), "白色"),
    "purple": ((128, 0, 128), "紫色"),
}
IMAGE_PROBES = {"latin": [f"a plain {name} picture" for name in COLOURS],
                "han": [f"一张纯{zh}的图片" for _, zh in COLOURS.values()]}

# Sounds anyone can synthesise, each with a caption a sound-text model should match to it; their
# captions are English, the one script CLAP's text tower reads.
SOUND_PROBES = ["white noise, a steady hiss", "a high-pitched beep, on and off", "a low hum", "a whistle",
                "a harsh buzz"]

# The least gap between match and unrelated levels: for text, what counts as telling paraphrases
# apart; for pictures and sounds, the narrowest spread their levels get. Image-text similarities
# of CLIP-family models live in a narrow band (about 0.1 to 0.35), sentence models' in a wide one.
TEXT_GAP = 0.05
IMAGE_GAP = 0.02
SOUND_GAP = 0.02
# The share of captions whose own picture or sound a model must rank first to count as telling
# them apart (5 of 7 colours, 4 of 5 sounds); chance is 1 in 7 or 1 in 5.
RANKED = 0.7


def _spread(sims: np.ndarray) -> tuple[float, float]:
    """(95th percentile of the wrong pairs, median of the right pairs) of a square matrix whose
    diagonal holds the right pairs."""
    return (float(np.percentile(sims[~np.eye(len(sims), dtype=bool)], 95)), float(np.median(np.diag(sims))))


def levels_of(sims: np.ndarray, min_gap: float) -> tuple[float, float] | None:
    """(unrelated, match) from a square matrix whose diagonal holds the right pairs; None when the
    median right pair is not `min_gap` above the 95th percentile of the wrong ones."""
    unrelated, match = _spread(sims)
    return (unrelated, match) if match - unrelated >= min_gap else None


def ranked_levels(sims: np.ndarray, min_gap: float) -> tuple[float, float] | None:
    """(unrelated, match) of a model asked to pick each caption's own picture or sound (rows:
    captions; the diagonal holds the right pairs); None unless it picks right for RANKED of them.

    Judged by ranking rather than by the gap, since image-text models give some captions high
    similarity to everything (a caption's offset), which lifts the wrong pairs' percentile without
    making the model worse at picking; where that leaves the levels closer than `min_gap`, the
    unrelated level is put `min_gap` under the match level.
    """
    if np.mean(sims.argmax(axis=1) == np.arange(len(sims))) < RANKED:
        return None
    unrelated, match = _spread(sims)
    return (min(unrelated, match - min_gap), match)


def text_levels(text) -> Levels:
    """A text model's levels per script, from TEXT_PROBES (queries against passages)."""
    return {script: levels_of(text.encode_queries([q for q, _ in pairs]) @ text.encode_passages([p for _, p in pairs]).T,
                              TEXT_GAP)
            for script, pairs in TEXT_PROBES.items()}


def probe_pictures(width: int, height: int) -> np.ndarray:
    """The COLOURS as (N, height, width, 3) uint8 frames."""
    return np.stack([np.full((height, width, 3), rgb, np.uint8) for rgb, _ in COLOURS.values()])


def image_levels(encoder) -> Levels:
    """An image model's query→frame levels per script, from IMAGE_PROBES against plain colours."""
    spec = encoder.frame_spec
    pictures = encoder.encode_images(probe_pictures(spec.width, spec.height))
    return {script: ranked_levels(encoder.encode_texts(captions) @ pictures.T, IMAGE_GAP)
            for script, captions in IMAGE_PROBES.items()}


def probe_sounds(rate: int, seconds: float = 3.0) -> list[np.ndarray]:
    """SOUND_PROBES' sounds as mono float32 clips at `rate` Hz."""
    t = np.arange(int(rate * seconds)) / rate
    beeping = np.sin(2 * np.pi * 880 * t) * ((t % 0.5) < 0.25)
    sawtooth = 2 * ((110 * t) % 1.0) - 1
    noise = np.random.default_rng(0).uniform(-1, 1, len(t))
    clips = [noise, beeping, np.sin(2 * np.pi * 220 * t), np.sin(2 * np.pi * 1760 * t), sawtooth]
    return [(0.3 * clip).astype(np.float32) for clip in clips]


def sound_levels(audio) -> Levels:
    """A sound model's query→sound levels, from SOUND_PROBES (English; other scripts are not read)."""
    sims = audio.encode_texts(SOUND_PROBES) @ audio.encode_audio(probe_sounds(audio.rate)).T
    return {"latin": ranked_levels(sims, SOUND_GAP)}


def stored(levels: dict | None) -> Levels | None:
    """Levels as read back from a meta row (JSON lists) in their measured form."""
    if levels is None:
        return None
    return {script: tuple(pair) if pair else None for script, pair in levels.items()}


def meta_entries(encoder, text) -> dict[str, Levels]:
    """The meta row's entries for the levels the image and text models carry."""
    return {key: model.levels for key, model in (("image_levels", encoder), ("text_levels", text))
            if model.levels is not None}


def share(score: float, pair: tuple[float, float]) -> float:
    """Where `score` lies between the unrelated level (0) and the match level (1), clipped."""
    unrelated, match = pair
    return min(1.0, max(0.0, (score - unrelated) / max(match - unrelated, 1e-9)))
