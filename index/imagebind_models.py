"""ImageBind as vsearch's image model and sound model: frames, texts and sounds in one 1024-d space.

Its weights are CC BY-NC-SA 4.0: non-commercial use only. vsearch does not download them (the
official URL is not one every machine reaches): `--model imagebind` and `--audio-model imagebind`
read `imagebind_huge.pth` from vsearch's model cache, or a folder holding it is named instead.
"""

from pathlib import Path

import numpy as np

from vsearch.extract import FrameSpec

from . import imagebind as towers
from .loading import ModelError, default_cache, first_words, pick_batch, pick_device, pick_dtype

LICENCE = "ImageBind's weights are CC BY-NC-SA 4.0: non-commercial use only"
CHECKPOINT = "imagebind_huge.pth"
URL = "https://dl.fbaipublicfiles.com/imagebind/imagebind_huge.pth"
# ImageBind's tokenizer vocabulary (its repo's imagebind/bpe/); OpenAI CLIP's, whose tokenizer
# files in the Hugging Face cache serve as well.
BPE = "bpe_simple_vocab_16e6.txt.gz"
BPE_URL = "https://github.com/facebookresearch/ImageBind/raw/main/imagebind/bpe/" + BPE
CLIP_TOKENIZER = "openai/clip-vit-base-patch32"


def is_imagebind(folder: str) -> bool:
    """Whether a model folder holds an ImageBind checkpoint."""
    return (Path(folder) / CHECKPOINT).is_file()


def preset_folder(cache: Path) -> Path:
    """Where `imagebind` (the preset name) is looked for: the model cache's imagebind folder (never
    the working folder: which model loads must not depend on where a command is run)."""
    places = [cache / "imagebind", default_cache() / "imagebind"]
    for place in places:
        if is_imagebind(str(place)):
            return place.resolve()
    raise ModelError(f"cannot load ImageBind: no {CHECKPOINT} in {places[0]} ({LICENCE}); on a machine with "
                     f"internet download {URL} and {BPE_URL} and put them there, or pass the folder holding them "
                     "as the model")


def _tokenizer(folder: Path):
    """ImageBind's BPE tokenizer: from the folder's vocabulary file, else CLIP's in the hub cache."""
    import gzip

    from transformers import CLIPTokenizer

    if (folder / BPE).is_file():
        from transformers.convert_slow_tokenizer import bytes_to_unicode

        # The file's first line is a header; CLIP reads its first 48894 merges (its vocabulary
        # is 49408: 512 byte symbols, the merges, two markers).
        with gzip.open(folder / BPE, "rt", encoding="utf-8") as lines:
            merges = lines.read().strip().split("\n")[1 : 49152 - 256 - 2 + 1]
        symbols = list(bytes_to_unicode().values())
        words = symbols + [s + "</w>" for s in symbols] + ["".join(m.split()) for m in merges]
        vocab = {word: i for i, word in enumerate(words + ["<|startoftext|>", "<|endoftext|>"])}
        return CLIPTokenizer(vocab=vocab, merges=[tuple(m.split()) for m in merges])
    if (folder / "vocab.json").is_file():
        return CLIPTokenizer.from_pretrained(str(folder))
    try:
        return CLIPTokenizer.from_pretrained(CLIP_TOKENIZER, local_files_only=True)
    except OSError:
        raise ModelError(f"cannot load ImageBind's tokenizer: no {BPE} in {folder}; download {BPE_URL} into it "
                         f"(or run `hf download {CLIP_TOKENIZER}`, the same vocabulary)") from None


class ImageBind:
    """The checkpoint's towers for some modalities, on one device, and its text side."""

    def __init__(self, folder: str, options, modalities: tuple[str, ...]):
        import pickle

        import torch

        self.model_id = folder
        self.folder = Path(folder)
        self.device = pick_device(options.device)
        self.dtype = pick_dtype(options.dtype, self.device)
        self.batch_size = pick_batch(options.batch_size, self.device)
        try:
            # Memory-mapped: only the towers asked for are read from the 4.8 GB file.
            state = torch.load(self.folder / CHECKPOINT, map_location="cpu", mmap=True, weights_only=True)
        except (OSError, RuntimeError, pickle.UnpicklingError) as exc:
            raise ModelError(f"cannot load ImageBind from {self.folder / CHECKPOINT}: {first_words(exc)}") from None
        self.weights = {k: v.to(self.device, self.dtype) for k, v in towers.tensors(state, modalities).items()}
        missing = [m for m in modalities if not towers.depth(self.weights, m)]
        if missing:
            raise ModelError(f"{self.folder / CHECKPOINT} is not an ImageBind checkpoint "
                             f"(no {', '.join(missing)} tower)")
        self.dim = towers.out_dim(self.weights)
        self.tokenizer = _tokenizer(self.folder) if "text" in modalities else None

    def _batched(self, inputs, tower) -> np.ndarray:
        """Unit vectors of `inputs` (a tensor on the CPU) through `tower`, a batch at a time."""
        import torch

        from .torch_tweaks import unit_rows

        parts = []
        with torch.inference_mode():
            for lo in range(0, len(inputs), self.batch_size):
                batch = inputs[lo : lo + self.batch_size].to(self.device)
                parts.append(unit_rows(tower(batch, self.weights)))
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """Encode texts with the text tower, cut to its 77 tokens."""
        limit = towers.context_length(self.weights)
        # Padded with the end marker where ImageBind pads with 0: the same vectors, since the
        # causal tower's end-marker token (the first highest id) sees nothing after it.
        ids = self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=limit,
                             return_tensors="pt")["input_ids"]
        return self._batched(ids, towers.text)


class ImageBindImages(ImageBind):
    """ImageBind as the image model: frames and cue texts."""

    levels = None

    def __init__(self, folder: str, options):
        super().__init__(folder, options, ("vision", "text"))
        side = towers.image_side(self.weights)
        self.frame_spec = FrameSpec(side, side, "cover")

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        """Encode (N, H, W, 3) uint8 frames already sized to `frame_spec`."""
        import torch

        batch = torch.from_numpy(np.ascontiguousarray(pixels)).permute(0, 3, 1, 2).float() / 255
        mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in (towers.PIXEL_MEAN, towers.PIXEL_STD))
        return self._batched(((batch - mean) / std).to(self.dtype), towers.vision)


class ImageBindSounds(ImageBind):
    """ImageBind as the sound model: soundtrack windows, and (`with_text`) texts."""

    rate = 16000
    scripts = frozenset({"latin"})  # its text tower was trained on English captions
    levels = None

    def __init__(self, folder: str, options, with_text: bool):
        super().__init__(folder, options, ("audio", "text") if with_text else ("audio",))

    def encode_audio(self, clips: list[np.ndarray]) -> np.ndarray:
        """Encode mono clips at 16 kHz: the mean of the vectors of three 2 s clips spread over each."""
        import torch

        from .imagebind_audio import CLIPS, sound_banks
        from .torch_tweaks import unit_rows

        if not clips:
            return np.zeros((0, self.dim), np.float32)
        banks = torch.from_numpy(np.concatenate([sound_banks(c) for c in clips])).to(self.dtype)
        heard = self._batched(banks, towers.audio).reshape(len(clips), CLIPS, -1).mean(axis=1)
        return unit_rows(torch.from_numpy(heard))


def imagebind_images(folder: str | None, options) -> ImageBindImages:
    """ImageBind's image model from a folder, or (None) the preset's place."""
    return ImageBindImages(str(Path(folder) if folder else preset_folder(options.cache)), options)


def imagebind_sounds(folder: str | None, options, with_text: bool) -> ImageBindSounds:
    """ImageBind's sound model from a folder, or (None) the preset's place."""
    return ImageBindSounds(str(Path(folder) if folder else preset_folder(options.cache)), options, with_text)
