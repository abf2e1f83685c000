"""Generate a synthetic evaluation set: colour-scene videos, subtitles, and labelled queries.

    python evals/make_synthetic.py /tmp/vsearch-synth [--videos 8] [--seed 0]
    VSEARCH_PLUGINS=vsearch.testing.color_encoder \\
        vsearch eval /tmp/vsearch-synth/queries.jsonl --model test-colors --text-model image --home /tmp/vsearch-synth/index

Each video is a run of solid-colour scenes (4-15 s, neighbours may share a colour) whose
subtitles talk about a topic, in English or Chinese; some scenes are silent. A query names a
scene's colour and topic ("the red part about the volcano", "讲火山的红色画面"): a colour alone
or a topic alone matches several scenes, so only fusing what is seen with what is said finds
the one labelled. Paraphrased topic-only queries test the subtitles alone. A video of colours no
other has, under cues of function words only, gets queries only the picture answers ("the white
part", kind "picture"), and topics no video mentions get queries whose right answer is nothing
(empty windows, kind "no answer"). With the
deterministic `test-colors` encoder (pipeline/testing/color_encoder.py) frames and colour words map to the
same vectors, so the frame signal is meaningful offline.
"""

import argparse
import json
import random
from pathlib import Path

from vsearch.testing.media import colour_video, write_vtt

COLOURS = {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色", "cyan": "青色", "magenta": "品红色"}
TOPICS = {
    "volcano": "火山", "submarine": "潜水艇", "gardening": "园艺", "database": "数据库",
    "violin": "小提琴", "glacier": "冰川", "bicycle": "自行车", "telescope": "望远镜",
    "bakery": "面包店", "satellite": "卫星", "orchestra": "乐团", "lighthouse": "灯塔",
    "earthquake": "地震", "compiler": "编译器", "honeybee": "蜜蜂", "marathon": "马拉松",
    "penguin": "企鹅", "thunderstorm": "雷暴", "vaccine": "疫苗", "railway": "铁路",
    "chocolate": "巧克力", "skyscraper": "摩天大楼", "tornado": "龙卷风", "museum": "博物馆",
    "dinosaur": "恐龙", "algorithm": "算法", "coffee": "咖啡", "rainforest": "雨林",
    "microscope": "显微镜", "harbor": "港口", "piano": "钢琴", "desert": "沙漠",
}
SAID = {
    "en": ["Now let us talk about the {t} and why it matters.", "Here is what you should know about the {t}.",
           "On this {c} slide we cover the {t}."],
    "zh": ["现在我们来谈谈{t}以及它为什么重要。", "关于{t}，你应该知道这些。", "这张{c}的幻灯片讲的是{t}。"],
}
ASK_BOTH = {"en": "the {c} part about the {t}", "zh": "讲{t}的{c}画面"}
# Cues that share only function words with any query: the picture alone answers "the white part".
FILLER = ["It is what it is, and that is that.", "So, then, here we are again.", "这是我们的，那是他们的。",
          "And then it was over, as it had to be."]
PICTURE = [("white", "the white part", "白色的画面"), ("black", "the black part", "黑色的画面")]
# Topics no video talks about: the right answer is nothing.
ABSENT = {"kangaroo": "袋鼠", "volleyball": "排球", "submarine cable": "海底电缆", "pottery": "陶艺"}
ASK_SAID = {"en": "where they explain the {t}", "zh": "解释{t}的地方"}
# Queries no video answers that are not about a topic: nonsense, an off-topic question, and one
# that shares a single word with the cues ("database", "slide") but not their meaning.
UNANSWERED = ["xyzzy plugh", "最近的地铁站在哪里", "a database of my grandmother's family recipes",
              "the kids went down the water slide at the pool"]


def scenes_for(rng: random.Random, seconds: int) -> list[dict]:
    """Scenes of random colour, length and topic filling about `seconds`."""
    scenes, t = [], 0
    while t < seconds:
        length = rng.randint(4, 15)
        colour = scenes[-1]["colour"] if scenes and rng.random() < 0.2 else rng.choice(list(COLOURS))
        topic = None if rng.random() < 0.15 else rng.choice(list(TOPICS))
        scenes.append({"colour": colour, "topic": topic, "start": t, "end": t + length})
        t += length
    return scenes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=100, help="Length of each video.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    catalogue = []
    for n in range(args.videos):
        lang = "en" if n % 2 == 0 else "zh"
        name = f"synthetic{n:02d}.mp4"
        scenes = scenes_for(rng, args.seconds)
        colour_video(args.out / name, [(s["colour"], s["end"] - s["start"]) for s in scenes], size="64x48")
        cues = []
        for s in scenes:
            if s["topic"]:
                c, t = (COLOURS[s["colour"]], TOPICS[s["topic"]]) if lang == "zh" else (s["colour"], s["topic"])
                cues.append((s["start"] + 0.5, s["end"] - 0.5, rng.choice(SAID[lang]).format(c=c, t=t)))
        write_vtt(args.out / name.replace(".mp4", f".{lang}.vtt"), cues)
        catalogue += [dict(s, video=name, lang=lang) for s in scenes]
    # One video of colours no other video has, under cues of function words only.
    picture = [(colour, 6) for colour, _, _ in PICTURE] + [("yellow", 6)]
    colour_video(args.out / "pictures.mp4", picture, size="64x48")
    write_vtt(args.out / "pictures.en.vtt", [(6 * i + 0.5, 6 * i + 5.5, FILLER[i % len(FILLER)])
                                              for i in range(len(picture))])
    pairs = [(s["colour"], s["topic"]) for s in catalogue]
    topics = [s["topic"] for s in catalogue]
    queries = []
    for s in catalogue:
        if not s["topic"]:
            continue
        lang, window = s["lang"], [[s["start"], s["end"]]]
        c, t = (COLOURS[s["colour"]], TOPICS[s["topic"]]) if lang == "zh" else (s["colour"], s["topic"])
        # a query must pick out one window, or its label would be wrong
        if pairs.count((s["colour"], s["topic"])) == 1:
            queries.append({"query": ASK_BOTH[lang].format(c=c, t=t), "video": s["video"], "relevant_windows": window})
        if topics.count(s["topic"]) == 1:
            queries.append({"query": ASK_SAID[lang].format(t=t), "video": s["video"], "relevant_windows": window})
    for i, (_, en, zh) in enumerate(PICTURE):
        for query in (en, zh):
            queries.append({"query": query, "video": "pictures.mp4", "relevant_windows": [[6 * i, 6 * i + 6]],
                            "kind": "picture"})
    for en, zh in ABSENT.items():
        for query in (ASK_SAID["en"].format(t=en), ASK_SAID["zh"].format(t=zh)):
            queries.append({"query": query, "video": "pictures.mp4", "relevant_windows": [], "kind": "no answer"})
    for query in UNANSWERED:
        queries.append({"query": query, "video": "pictures.mp4", "relevant_windows": [], "kind": "no answer"})
    with open(args.out / "queries.jsonl", "w", encoding="utf-8") as fh:
        for q in queries:
            fh.write(json.dumps(q, ensure_ascii=False) + "\n")
    print(f"{args.videos} videos, {len(catalogue)} scenes, {len(queries)} queries -> {args.out / 'queries.jsonl'}")


if __name__ == "__main__":
    main()
