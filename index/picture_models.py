"""Picture models: vision-only towers (DINOv2, WebSSL-DINO, ViT in21k) that give each frame a second
vector, for finding what looks like a picture (`find --image`, "more like this"); no text side.

They are trained on pictures alone, so they tell apart what an image-text model, trained to match
captions, lumps together: this room and not a room like it, this slide's layout, this face.
"""


import numpy as np

from vsearch.extract import FrameSpec

from .encoders import EncoderOptions, PixelScale, _frame_spec
from .loading import Kind, ModelError, hub_files, load_failure, pick_batch, pick_device, pick_dtype, resolve
from .torch_tweaks import unit_rows

PICTURE = Kind("picture model", "--picture-model", "picture_model = none", "picture_model")
NONE = "none"

PICTURE_PRESETS = {
    "dinov2-small": "facebook/dinov2-small",
    "dinov2": "facebook/dinov2-base",
    "dinov2-large": "facebook/dinov2-large",
    "dinov2-giant": "facebook/dinov2-giant",
    "webssl": "facebook/webssl-dino300m-full2b-224",
    "vit": "google/vit-base-patch16-224-in21k",
}
# Architectures transformers runs itself; each gives a pooled CLS vector (DINOv2 its final
# layer norm's, ViT its pooler's).
VISION_ONLY = ("dinov2", "dinov2_with_registers", "vit")
# InternViT-300M's modelling code lives in its hub repository, and running it takes trust_remote_code.
_OWN_CODE = "OpenGVLab/InternViT-300M-448px"


def remote_code(model_id: str) -> ModelError:
    """The one line for a model that needs its own code from the hub to run."""
    return ModelError(f"picture model {model_id} needs its own modelling code from the hub (trust_remote_code), "
                      f"which vsearch does not run: use {', '.join(PICTURE_PRESETS)}, or a DINOv2 or ViT folder")


def _refused() -> "PictureEncoder":
    raise remote_code(_OWN_CODE)


def load_picture_encoder(name: str, options: EncoderOptions) -> "PictureEncoder | None":
    """The picture model `name` stands for (a preset, a Hugging Face id or a local folder); None for "none"."""
    if name == NONE:
        return None
    known = {n: (lambda i=i: PictureEncoder(i, options)) for n, i in PICTURE_PRESETS.items()}
    return resolve(name, PICTURE, {**known, "internvit": _refused}, lambda source: PictureEncoder(source, options))


def _config(model_id: str, offline: dict) -> dict:
    """The checkpoint's config.json, read without building anything from it."""
    from transformers import PretrainedConfig

    try:
        return PretrainedConfig.get_config_dict(model_id, **offline)[0]
    except (OSError, ValueError) as exc:
        raise load_failure(model_id, PICTURE, exc, bool(offline)) from None


class PictureEncoder:
    """A vision-only model through transformers' AutoModel: frames in, L2-normalised pooled CLS vectors out."""

    def __init__(self, model_id: str, options: EncoderOptions):
        from transformers import AutoImageProcessor, AutoModel

        self.model_id = model_id
        self.device = pick_device(options.device)
        self.dtype = pick_dtype(options.dtype, self.device)
        self.batch_size = pick_batch(options.batch_size, self.device)
        offline = hub_files(model_id)
        config = _config(model_id, offline)
        if config.get("auto_map") and config.get("model_type") not in VISION_ONLY:
            raise remote_code(model_id)
        if config.get("model_type") not in VISION_ONLY:
            raise ModelError(f"{model_id} is a {config.get('model_type') or 'unknown'} model, not a picture model "
                             f"vsearch runs ({', '.join(VISION_ONLY)}): use {', '.join(PICTURE_PRESETS)}")
        try:
            self.model = AutoModel.from_pretrained(model_id, dtype=self.dtype, **offline).to(self.device).eval()
            processor = AutoImageProcessor.from_pretrained(model_id, **offline)
        except (OSError, ValueError) as exc:
            raise load_failure(model_id, PICTURE, exc, bool(offline)) from None
        self.frame_spec: FrameSpec = _frame_spec(processor)
        self.pixels = PixelScale(processor, self.device, self.dtype)
        self.dim = int(self.encode_images(np.zeros((1, self.frame_spec.height, self.frame_spec.width, 3),
                                                   np.uint8)).shape[1])

    def encode_images(self, pixels: np.ndarray) -> np.ndarray:
        """Encode (N, H, W, 3) uint8 pictures already sized to `frame_spec`."""
        import torch

        parts = []
        with torch.inference_mode():
            for batch in self.pixels.batches(pixels, self.batch_size):
                out = self.model(pixel_values=batch)
                pooled = out.pooler_output if getattr(out, "pooler_output", None) is not None \
                    else out.last_hidden_state[:, 0]
                parts.append(unit_rows(pooled))
        return np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)

