"""A video's picture-model vectors, one per sampled second as its frames have, gathered beside the frame loop."""

import numpy as np

from vsearch.extract.frames import fit


class PictureFrames:
    """Encodes the frames the image model's loop found changed, reusing the last vector where the
    picture did not change (as the frames do) and taking `kept` ones (slot -> vector, from the
    index) as they are, so adding a picture model to an indexed video encodes only it."""

    def __init__(self, encoder, kept: dict[int, np.ndarray]):
        self.encoder, self.kept = encoder, kept
        self.vecs: list[np.ndarray] = []
        self.encoded = 0
        self._last = None

    def add(self, chunk, changed: list[int]) -> None:
        """One chunk of frames; `changed` are the indices of those whose picture changed."""
        todo = [i for i in changed if chunk[i].slot not in self.kept]
        got = {}
        if todo:
            # From the whole decoded frame, sized as this model's own processor would: the image
            # model's crop may be another shape (a stretched square for SigLIP).
            pixels = np.stack([fit(chunk[i].whole if chunk[i].whole is not None else chunk[i].pixels,
                                   self.encoder.frame_spec) for i in todo])
            got = dict(zip(todo, self.encoder.encode_images(pixels)))
            self.encoded += len(todo)
        for i, frame in enumerate(chunk):
            self._last = self.kept[frame.slot] if frame.slot in self.kept else got.get(i, self._last)
            self.vecs.append(self._last)

    def vectors(self) -> np.ndarray:
        """Every second's vector so far, in slot order."""
        return np.stack(self.vecs) if self.vecs else np.zeros((0, self.encoder.dim), np.float32)
