"""Generate a synthetic sound evaluation set: videos whose soundtracks hold sounds at known seconds.

    python evals/make_sounds.py /tmp/vsearch-sounds [--videos 8] [--seed 0]
    VSEARCH_PLUGINS=vsearch.testing.color_encoder,vsearch.testing.tone_encoder VSEARCH_AUDIO_MODE=on \\
        vsearch eval /tmp/vsearch-sounds/queries.jsonl --model test-colors --text-model image \\
        --audio-model test-tones --home /tmp/vsearch-sounds/index

Each video is a run of solid-colour scenes (3-8 s); half are silent, the rest hum, buzz, drone,
squeak or hiss with noise, and each of the rare sounds (beep, whistle, chirp, ping) is heard exactly
once in the whole set. A
query names a rare sound ("where the beep is heard", kind "heard": only the sound answers it),
or a common sound with the colour on screen ("the red scene with the hum", kind "seen+heard":
only the two signals together pick out the one scene). Sounds the test model has no word for
("the applause") get queries whose right answer is nothing (kind "no answer"). The
deterministic `test-tones` (pipeline/testing/tone_encoder.py) and `test-colors` encoders make every
signal meaningful offline; a real CLAP's numbers need its weights and real recordings.
"""

import argparse
import json
import random
from pathlib import Path

from vsearch.testing.media import sound_video

COLOURS = ["red", "green", "blue", "yellow", "cyan", "magenta", "white", "black"]
# Half the scenes are silent: each sound and each colour alone match many scenes.
COMMON = ["hum", "noise", "buzz", "drone", "squeak"] + ["silence"] * 5
RARE = ["beep", "whistle", "chirp", "ping"]
ASK_HEARD = {"beep": "where the beep is heard", "whistle": "the part with a whistle", "chirp": "when it chirps",
             "ping": "the ping"}
ASK_BOTH = {"hum": "the {c} scene with the hum", "noise": "the {c} picture with noise",
            "buzz": "{c} screen and a buzz", "drone": "the drone over the {c} picture", "squeak": "a squeak, all {c}"}
ABSENT = ["where the applause is heard", "the dog barking", "a door slams", "xyzzy plugh", "有人在敲门"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=60, help="Length of each video.")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    rare_at = {sound: rng.randrange(args.videos) for sound in RARE}
    catalogue = []
    for n in range(args.videos):
        name = f"sounds{n:02d}.mp4"
        scenes, t = [], 0
        rare = [s for s, v in rare_at.items() if v == n]
        while t < args.seconds:
            length = rng.randint(3, 8)
            sound = rare.pop() if rare and rng.random() < 0.3 else rng.choice(COMMON)
            scenes.append({"video": name, "colour": rng.choice(COLOURS), "sound": sound, "start": t, "end": t + length})
            t += length
        for sound in rare:  # not placed yet: it ends the video
            scenes.append({"video": name, "colour": rng.choice(COLOURS), "sound": sound, "start": t, "end": t + 4})
            t += 4
        sound_video(args.out / name, [(s["sound"], s["end"] - s["start"]) for s in scenes],
                    colours=[s["colour"] for s in scenes])
        catalogue += scenes
    pairs = [(s["colour"], s["sound"]) for s in catalogue]
    queries = []
    for s in catalogue:
        window = [[s["start"], s["end"]]]
        if s["sound"] in RARE:
            queries.append({"query": ASK_HEARD[s["sound"]], "video": s["video"], "relevant_windows": window,
                            "kind": "heard"})
        elif s["sound"] in ASK_BOTH and pairs.count((s["colour"], s["sound"])) == 1:
            queries.append({"query": ASK_BOTH[s["sound"]].format(c=s["colour"]), "video": s["video"],
                            "relevant_windows": window, "kind": "seen+heard"})
    for query in ABSENT:
        queries.append({"query": query, "video": catalogue[0]["video"], "relevant_windows": [], "kind": "no answer"})
    with open(args.out / "queries.jsonl", "w", encoding="utf-8") as fh:
        for q in queries:
            fh.write(json.dumps(q, ensure_ascii=False) + "\n")
    print(f"{args.videos} videos, {len(catalogue)} scenes, {len(queries)} queries -> {args.out / 'queries.jsonl'}")


if __name__ == "__main__":
    main()
