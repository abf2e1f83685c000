"""What is heard: sound vectors from the soundtrack, found by words and by a clip of the sound."""

import json

import numpy as np
import pytest
from conftest import find_json, index_interrupted, run_cli

from vsearch.testing.media import colour_video, ffmpeg, sound_video
from vsearch.testing.tone_encoder import ToneEncoder

pytestmark = pytest.mark.usefixtures("heard")


@pytest.fixture
def heard(env, monkeypatch):
    """`env` with the tone test model as the sound model (vsearch/testing/tone_encoder.py)."""
    monkeypatch.setenv("VSEARCH_PLUGINS", "vsearch.testing.color_encoder,vsearch.testing.tone_encoder")
    monkeypatch.setenv("VSEARCH_AUDIO_MODEL", "test-tones")
    monkeypatch.setenv("VSEARCH_AUDIO_MODE", "on")
    return env


@pytest.fixture(scope="module")
def sounds(tmp_path_factory):
    """Two videos: beep 2-5 s, noise 5-7 s and hum 7-10 s in one; hum 0-2 s and whistle 2-5 s in the other."""
    folder = tmp_path_factory.mktemp("sounds")
    first = sound_video(folder / "first 'one'.mp4", [("silence", 2), ("beep", 3), ("noise", 2), ("hum", 3),
                                                   ("silence", 2)])
    second = sound_video(folder / "second.mp4", [("hum", 2), ("whistle", 3), ("silence", 3)], colour="red")
    hum = sound_video(folder / "hum clip.mp4", [("hum", 2)])
    ffmpeg("-i", str(hum), "-vn", "-c:a", "pcm_s16le", str(folder / "hum.wav"))
    return first, second, folder / "hum.wav"


def _status(video) -> dict:
    rows = [json.loads(line) for line in run_cli("status", "--json").stdout.splitlines()]
    [row] = [r for r in rows if r["path"] == str(video)]
    return row


@pytest.mark.slow
def test_sounds_are_found_by_their_words_with_seek_inside_them(sounds):
    first, second, _ = sounds
    run_cli("index", str(first), str(second))
    for word, video, begins in (("beep", first, 2.0), ("a whistle", second, 2.0), ("noise", first, 5.0)):
        top = find_json(word, "-k", "1")[0]
        assert top["video"] == str(video) and top["source"] == "audio", (word, top)
        assert abs(top["seek"] - begins) <= 1.0 and top["signals"]["audio"] > 0, (word, top)
        assert top["best_sound"] is not None
    assert find_json("a dog barking") == []  # nothing sounds like it: no nearest sound passed off as one
    hums = {f["video"]: f["seek"] for f in find_json("hum", "-k", "2")}
    assert hums.keys() == {str(first), str(second)} and abs(hums[str(first)] - 7.0) <= 1.0
    status = _status(first)
    # 12 s: the first hop and the last hear nothing of the sounds 2-10 s through their 3 s windows
    assert status["sounds"] == 10 and status["audio"]["silent"] >= 2


def test_a_clip_of_a_sound_finds_where_it_is_heard_across_videos(sounds):
    first, second, hum = sounds
    run_cli("index", str(first), str(second))
    found = find_json("--audio", str(hum), "-k", "2")
    assert {(f["video"], f["source"]) for f in found} == {(str(first), "audio"), (str(second), "audio")}
    seeks = {f["video"]: f["seek"] for f in found}
    assert abs(seeks[str(first)] - 7.0) <= 1.0 and seeks[str(second)] <= 1.0
    printed = run_cli("find", "--audio", str(hum), "-k", "1").stdout
    assert "heard" in printed and "mpv --start=" in printed


def test_a_query_the_sound_model_cannot_read_is_not_heard_and_says_so(sounds):
    first, second, _ = sounds
    run_cli("index", str(first), str(second))
    [top] = find_json("红色 哨声", "-k", "1")  # "red, whistle": the second video's picture is red
    assert top["source"] == "frames" and "audio" not in top["signals"]
    assert "left out" in top["notes"]["audio"] and "han" in top["notes"]["audio"]
    printed = run_cli("find", "红色 哨声", "-k", "1")
    assert "note: audio left out: the sound model test-tones reads latin text" in printed.stderr
    [english] = find_json("red whistle", "-k", "1")
    assert english["signals"].keys() == {"frames", "audio"}
    assert not english["notes"].get("audio", "").startswith("left out")  # heard (by the probe levels: 16 s)
    # The colour model's own text tower, the cue model here, tells no paraphrases apart either.
    assert english["notes"]["cues"] == "left out: the text model image does not tell latin paraphrases apart (measured)"


@pytest.mark.slow
def test_silent_soundless_and_audio_only_files_behave(tmp_path, sounds):
    _, _, hum = sounds
    silent = sound_video(tmp_path / "silent.mp4", [("silence", 4)])
    mute = colour_video(tmp_path / "mute.mp4", [("blue", 3)])
    run_cli("index", str(silent), str(mute))
    assert _status(silent)["sounds"] == 0 and _status(silent)["audio"]["windows"] == 0
    assert _status(mute)["audio"] == {"skipped": "no audio stream"} and _status(mute)["warnings"] == []
    assert find_json("beep") == []
    for clip, why in ((silent, "silence"), (mute, "no audio stream"), (tmp_path / "nope.wav", "cannot read")):
        result = run_cli("find", "--audio", str(clip), ok=False)
        assert result.exit_code == 1 and why in result.stderr and "Traceback" not in result.output
    odd = tmp_path / "<script>.wav"
    odd.write_bytes(b"RIFF\xff\xfe not audio")
    result = run_cli("find", "--audio", str(odd), ok=False)
    assert result.exit_code == 1 and "not a readable audio file" in result.stderr
    # An audio-only file is no video to index, but a fine clip to search with.
    result = run_cli("index", str(hum), ok=False)
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) <= 2
    assert find_json("--audio", str(hum)) == []  # nothing indexed hums


def test_an_index_without_sounds_says_how_to_get_them(tmp_path, monkeypatch, sounds):
    first, _, hum = sounds
    monkeypatch.setenv("VSEARCH_AUDIO_MODE", "off")
    run_cli("index", str(first))
    assert _status(first)["audio"] == {"skipped": "audio.mode is off"}
    assert find_json("beep") == []
    result = run_cli("find", "--audio", str(hum), ok=False)
    assert result.exit_code == 1 and "audio.mode" in result.stderr


@pytest.mark.slow
def test_a_sound_model_that_cannot_load_costs_the_sound_signal_only(tmp_path, monkeypatch, sounds):
    first, _, _ = sounds
    monkeypatch.setenv("VSEARCH_AUDIO_MODEL", str(tmp_path / "no such model"))
    # "auto" on this CPU embeds no sounds, and says so without a warning.
    for mode, why, warned in (("auto", "on a GPU only", False), ("on", "unknown audio model", True)):
        monkeypatch.setenv("VSEARCH_HOME", str(tmp_path / mode))
        monkeypatch.setenv("VSEARCH_AUDIO_MODE", mode)
        run_cli("index", str(first))
        status = _status(first)
        assert status["state"] == "done" and why in status["audio"]["skipped"]
        assert any("sounds not embedded" in w for w in status["warnings"]) == warned


@pytest.mark.slow
def test_tiny_clap_loads_through_the_real_code_and_an_index_keeps_its_sound_model(tmp_path, monkeypatch, sounds):
    from vsearch.index import EncoderOptions, ModelError, load_audio_encoder
    from vsearch.testing.checkpoints import tiny_clap

    first, second, hum = sounds
    folder = tiny_clap(tmp_path / "tiny-clap")
    clap = load_audio_encoder(str(folder), EncoderOptions())
    clips = [np.sin(np.linspace(0, 2000, 48000 * s)).astype(np.float32) for s in (1, 3, 10)]
    vecs = np.vstack([clap.encode_audio(clips), clap.encode_texts(["a dog barks", "applause"])])
    assert vecs.shape == (5, clap.dim) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    assert clap.rate == 48000
    with pytest.raises(ModelError, match="without its text tower"):
        load_audio_encoder(str(folder), EncoderOptions(), with_text=False).encode_texts(["a dog barks"])

    monkeypatch.setenv("VSEARCH_AUDIO_MODEL", str(folder))
    run_cli("index", str(first))
    assert _status(first)["sounds"] == 10
    # Random weights tell no probe sound from another: the sounds give nothing, not noise.
    assert find_json("a dog barks") == []
    assert find_json("--audio", str(hum), "-k", "1")[0]["video"] == str(first)
    # Another sound model cannot write into it, nor search it.
    result = run_cli("index", "--audio-model", "test-tones", str(second), ok=False)
    assert result.exit_code == 1 and "--audio-model " + str(folder) in result.stderr
    monkeypatch.delenv("VSEARCH_AUDIO_MODEL")
    assert find_json("--audio", str(hum), "-k", "1")[0]["video"] == str(first)  # the index's own model


class _OneWindowAtATime:
    """The tone model without `encode_spans`: each window is its own pass."""

    def __init__(self, calls: list):
        self.tones, self.calls = ToneEncoder(), calls
        self.rate = self.tones.rate

    def encode_audio(self, clips):
        self.calls.append(len(clips))
        return self.tones.encode_audio(clips)


class _Counted(ToneEncoder):
    def __init__(self, calls: list):
        self.calls = calls

    def encode_spans(self, clips, spans):
        self.calls.append(len(clips))
        return super().encode_spans(clips, spans)


@pytest.mark.parametrize("pooled", [True, False])
def test_sound_windows_do_not_depend_on_how_the_soundtrack_arrives(pooled):
    from vsearch.index import AudioOptions
    from vsearch.index.sounds import SoundWindows

    rate = ToneEncoder.rate
    t = np.arange(int(26.5 * rate)) / rate
    track = np.where((t < 3) | (t >= 20), 0.2 * np.sin(2 * np.pi * 880 * t), 0.0).astype(np.float32)
    results = []
    for size in (rate * 10, 4096, 777):
        calls = []
        encoder = _Counted(calls) if pooled else _OneWindowAtATime(calls)
        windows = SoundWindows(encoder, AudioOptions(window=2.0, hop=1.0))
        for lo in range(0, len(track), size):
            windows.feed(track[lo : lo + size])
        windows.finish()
        done = windows.sounds()
        results.append((done.starts, np.array(done.vecs), sum(calls)))
    # Hops 0-3 hear the beep (hop 3's window reaches back to 2.5 s), 4-18 are silence, and 19-26
    # hear the second beep (the last window is cut short by the end).
    assert results[0][0] == (0.0, 1.0, 2.0, 3.0, *map(float, range(19, 27)))
    for starts, vecs, _ in results[1:]:
        assert starts == results[0][0] and np.allclose(vecs, results[0][1], atol=1e-6)
    # Pooled, windows share 10 s passes: one over each beep (the one between hears silence alone).
    assert [r[2] for r in results] == ([2, 2, 2] if pooled else [12, 12, 12])
    alone = ToneEncoder().encode_audio([track[: int(1.5 * rate)], track[int(25.5 * rate) :]])
    assert np.allclose(results[0][1][[0, -1]], alone, atol=1e-6)  # each window hears itself alone


@pytest.mark.parametrize(("spans", "weights"), [
    (((0.0, 10.0),), [[0.25] * 4]),
    (((0.0, 2.5), (2.5, 5.0)), [[1, 0, 0, 0], [0, 1, 0, 0]]),
    (((1.25, 3.75),), [[0.5, 0.5, 0, 0]]),
    (((9.0, 12.0),), [[0, 0, 0, 1]]),  # beyond the input: what of it is inside
])
def test_span_weights_average_the_columns_a_stretch_covers(spans, weights):
    from vsearch.index.clap import span_weights

    assert np.allclose(span_weights(spans, 10.0, 4), weights)


@pytest.mark.slow
def test_clap_hears_stretches_of_one_pass_and_the_whole_is_its_own_vector(tmp_path):
    import torch

    from vsearch.index import EncoderOptions, load_audio_encoder
    from vsearch.testing.checkpoints import tiny_clap

    clap = load_audio_encoder(str(tiny_clap(tmp_path / "clap")), EncoderOptions(engine="torch"), with_text=False)
    rng = np.random.default_rng(0)
    clips = [rng.normal(size=clap.rate * s).astype(np.float32) * 0.1 for s in (3, 10)]
    inputs = clap.features(clips, sampling_rate=clap.rate, truncation="rand_trunc", padding="repeatpad",
                           return_tensors="pt")
    with torch.inference_mode():
        own = torch.nn.functional.normalize(clap.model(**inputs).audio_embeds, dim=-1).numpy()
    assert (clap.columns, clap.span_seconds) == (32, 10.0)
    assert np.sum(clap.encode_audio(clips) * own, axis=1).min() > 0.99999
    stretches = clap.encode_spans(clips, [((0.0, 3.0),), ((0.0, 10.0), (0.0, 3.0), (7.0, 10.0))])
    assert [len(s) for s in stretches] == [1, 3]
    # A 3 s clip fills the input three times over; its first third is close to the whole, and the
    # 10 s clip's whole is its own vector while its stretches differ from it.
    assert np.dot(stretches[1][0], own[1]) > 0.99999
    assert np.dot(stretches[1][1], stretches[1][2]) < 0.9999


def test_imagebind_without_its_checkpoint_names_the_download_and_licence(tmp_path, sounds):
    first, _, _ = sounds
    result = run_cli("index", "--model", "imagebind", str(first), ok=False)
    assert result.exit_code == 1 and "https://dl.fbaipublicfiles.com/imagebind/imagebind_huge.pth" in result.stderr
    assert "CC BY-NC-SA 4.0" in result.stderr and "Traceback" not in result.output


def test_the_server_finds_by_a_sound_file_and_filters_to_what_is_heard(sounds):
    from starlette.testclient import TestClient

    from vsearch.settings import load_settings
    from vsearch.web import create_app

    first, second, hum = sounds
    run_cli("index", str(first), str(second))
    app = create_app(load_settings())
    try:
        with TestClient(app, base_url="http://127.0.0.1:8765") as client:
            got = client.post("/api/find", files={"audio": ("hum.wav", hum.read_bytes(), "audio/wav")},
                              data={"k": "2"}).json()["results"]
            assert {r["name"] for r in got} == {first.name, second.name} and got[0]["source"] == "audio"
            heard = client.get("/api/find", params={"q": "red whistle", "source": "audio"}).json()["results"]
            assert heard and all(r["source"] == "audio" and set(r["signals"]) == {"audio"} for r in heard)
            bad = client.post("/api/find", files={"audio": ("x.wav", b"<script>\xff\xfe", "audio/wav")})
            assert bad.status_code == 400 and "not a readable audio file" in bad.json()["error"]
    finally:
        app.state.resident.close()


@pytest.mark.slow
def test_ctrl_c_mid_video_with_sounds_on_still_exits_130(tmp_path, monkeypatch):
    """The listening thread, maybe waiting to hand off sound windows, is let go, not waited for."""
    index_interrupted(sound_video(tmp_path / "long.mp4", [("beep", 20), ("noise", 20)]), monkeypatch)
