"""Stage 2: encoders, the Milvus store and the per-video indexer."""

from .audio_encoders import AUDIO_PRESETS, AudioEncoder, load_audio_encoder, register_audio_encoder
from .encoders import Encoder, EncoderOptions, ModelError, PRESETS, load_encoder, register_encoder
from .indexer import IndexOptions, IndexResult, Models, index_video
from .milvus_lite import IndexBusy, NoIndex, StoreError
from .records import VideoRecord, video_id
from .sounds import AudioOptions
from .store import IndexMismatch, Store, StoreConfig
from .types import Hit
from .video_files import VideoFiles, kept_subs, video_files

__all__ = [
    "AUDIO_PRESETS", "AudioEncoder", "AudioOptions", "load_audio_encoder", "register_audio_encoder",
    "Encoder", "EncoderOptions", "Hit", "IndexBusy", "IndexMismatch", "IndexOptions", "IndexResult",
    "ModelError", "Models", "NoIndex", "PRESETS", "Store", "StoreConfig", "StoreError", "VideoFiles", "VideoRecord",
    "index_video", "kept_subs", "load_encoder", "register_encoder", "video_files", "video_id",
]
