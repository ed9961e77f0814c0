"""Dynamic padding of token ids for the transformer sentiment model, shared by the service and training
(numpy only, so the training environment can import it without the service's dependencies)."""

from __future__ import annotations

import numpy as np

MAX_TOKENS = 64  # WordPiece tokens kept per text (headlines are ~25 on average; 99 % fit in 56)


def pad(encodings: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token ids with 0 ([PAD]) to the longest of the batch; the mask is 1 on real tokens."""
    width = max(len(ids) for ids in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, tokens in enumerate(encodings):
        ids[row, : len(tokens)] = tokens
        mask[row, : len(tokens)] = 1
    return ids, mask
