"""Token ids for the transformer sentiment model, shared by the service and training (numpy only, so the
training environment imports it without the service's dependencies).

A batch of texts runs as a few padded ONNX calls: the texts sorted by token count, cut into buckets of
BUCKET, each padded only to its own longest text. The int8 graph quantizes each token's activations with
that token's own scale (training/quantize.py), and padding is masked out of attention and pooling, so a
text's probabilities do not depend on the texts beside it beyond float summation order (training measures
the largest difference from scoring each text alone over all of PhraseBank and records it in the model's
metadata as `batch_independence`). One scale per tensor, as ONNX Runtime's stock dynamic quantization does,
would let a batch-mate move a text's score (up to 0.38 in probability on PhraseBank), which is why that
graph had to run one call per text.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MAX_TOKENS = 64  # WordPiece tokens kept per text (headlines are ~25 on average; 99 % fit in 56)
# Texts per ONNX call. bench/results/ai_inference.md (64 headlines, one thread, ms per item): buckets of 8 and 16
# tie, one text per call and one call of 64 are slower (long texts pad the short ones); 16 makes half the calls.
BUCKET = 16


def pad(encodings: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad token ids with 0 ([PAD]) to the longest of the batch; the mask is 1 on real tokens."""
    width = max(len(ids) for ids in encodings)
    ids = np.zeros((len(encodings), width), dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    for row, tokens in enumerate(encodings):
        ids[row, : len(tokens)] = tokens
        mask[row, : len(tokens)] = 1
    return ids, mask


def run_bucketed(
    encodings: list[list[int]], run: Callable[[np.ndarray, np.ndarray], np.ndarray], bucket: int = BUCKET
) -> np.ndarray:
    """`run(ids, mask)` on buckets of similar length; the rows come back in the order of `encodings`."""
    if not encodings:
        return np.empty((0, 0), dtype=np.float32)
    order = sorted(range(len(encodings)), key=lambda index: len(encodings[index]))
    rows: list[np.ndarray] = [np.empty(0)] * len(encodings)
    for start in range(0, len(order), bucket):
        part = order[start : start + bucket]
        for index, row in zip(part, run(*pad([encodings[i] for i in part])), strict=True):
            rows[index] = row
    return np.stack(rows).astype(np.float32)
