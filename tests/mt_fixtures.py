"""Recipes for the MT projector tests: a known-answer CTranslate2 model with hand-set weights.

The model translates word by word with a bilingual dictionary, so the right projection of every
span is known. Its sentencepiece models are written piece by piece (unigram type: one piece per
dictionary word ``▁word``, a bare ``▁``, and the markers as user-defined symbols), and the
CTranslate2 Transformer (1 encoder + 1 decoder layer, 1 head, pre-norm) is set by hand through
``ctranslate2.specs``:

- dimensions: ``[0, V)`` one-hot of the source piece, ``[V, V+P)`` one-hot of the position, one
  constant dimension (the decoder input embedding: the decoder ignores what it already wrote);
- the encoder layers are zero (residual only); its final layer norm is set to the identity on
  these vectors (all have the same mean and variance, so gamma = std, beta = mean undo it);
- decoder cross-attention: query = position one-hot (scaled), key = position one-hot, so step t
  attends source position t; value / output = the source piece one-hot, copied into the
  residual stream;
- output projection: source piece one-hot -> logit ``L`` on its dictionary translation.

With ``add_source_eos`` the source ``</s>`` sits at position n and maps to ``</s>``: decoding
stops after n pieces. Markers, ``▁`` and special tokens translate to themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["DICT_EN_DE", "MARKERS", "build_known_answer_model", "build_spm", "known_answer", "translate_words"]

DICT_EN_DE: dict[str, str] = {
    "the": "die", "red": "rote", "house": "Haus", "is": "ist", "big": "groß", "John": "Johann",
    "Smith": "Schmidt", "lives": "wohnt", "in": "in", "Paris": "Paris", "New": "Neu", "York": "York",
    "works": "arbeitet", "for": "für", "Acme": "Acme", "Mary": "Maria", "and": "und",
    "visited": "besuchte", "London": "London", "Berlin": "Berlin", "today": "heute", "old": "alte",
    "city": "Stadt", "of": "von", "Bank": "Bank", "England": "England", "met": "traf", ".": ".",
    ",": ",", "(": "(", ")": ")",
}
#: marker strings both vocabularies know (user-defined symbols)
MARKERS = ("[", "]", "{", "}", "<PER>", "</PER>", "<LOC>", "</LOC>", "<ORG>", "</ORG>")


def build_spm(path: Path, words: list[str], user_symbols: tuple[str, ...] = MARKERS) -> list[str]:
    """Write a unigram sentencepiece model with one piece per word; returns its pieces by id."""
    from sentencepiece import sentencepiece_model_pb2 as pb

    m = pb.ModelProto()
    m.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    m.trainer_spec.unk_id, m.trainer_spec.bos_id, m.trainer_spec.eos_id, m.trainer_spec.pad_id = 0, 1, 2, -1
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = True
    m.normalizer_spec.remove_extra_whitespaces = True
    m.normalizer_spec.escape_whitespaces = True
    sp = pb.ModelProto.SentencePiece

    def add(piece: str, kind: int, score: float = 0.0) -> None:
        x = m.pieces.add()
        x.piece, x.type, x.score = piece, kind, score

    add("<unk>", sp.UNKNOWN)
    add("<s>", sp.CONTROL)
    add("</s>", sp.CONTROL)
    for u in user_symbols:
        add(u, sp.USER_DEFINED)
    add("▁", sp.NORMAL, -5.0)
    for w in dict.fromkeys(words):
        add("▁" + w, sp.NORMAL, -1.0)
    path.write_bytes(m.SerializeToString())
    return [p.piece for p in m.pieces]


def build_known_answer_model(out_dir: Path, dictionary: Mapping[str, str] = DICT_EN_DE,
                             max_positions: int = 300, logit: float = 12.0) -> Path:
    """Write the known-answer model (``model.bin``, vocabularies, ``source.spm``, ``target.spm``)."""
    import ctranslate2
    from ctranslate2.specs import common_spec, transformer_spec

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    src_vocab = build_spm(out_dir / "source.spm", list(dictionary))
    tgt_vocab = build_spm(out_dir / "target.spm", list(dictionary.values()))
    tgt_index = {p: i for i, p in enumerate(tgt_vocab)}

    def translation(piece: str) -> str:
        if piece.startswith("▁") and piece[1:] in dictionary:
            return "▁" + dictionary[piece[1:]]
        return piece  # specials, markers and the bare ▁ map to themselves

    V, P = len(src_vocab), max_positions
    d = V + P + 1
    d += d % 2
    const = V + P
    eps = 1e-6
    f32 = np.float32

    def ln_identity(values: list[float]) -> tuple[np.ndarray, np.ndarray]:
        # a vector holding ``values`` in distinct dims and zeros elsewhere: undo the normalisation
        mu = sum(values) / d
        var = sum(v * v for v in values) / d - mu * mu
        return np.full(d, math.sqrt(var + eps), f32), np.full(d, mu, f32)

    spec = transformer_spec.TransformerSpec.from_config((1, 1), 1, pre_norm=True)
    spec.config.add_source_eos = True
    spec.config.layer_norm_epsilon = eps
    enc, dec = spec.encoder, spec.decoder
    enc.scale_embeddings = False
    dec.scale_embeddings = False
    emb = np.zeros((V, d), f32)
    emb[np.arange(V), np.arange(V)] = 1.0
    enc.embeddings[0].weight = emb
    pos = np.zeros((P, d), f32)
    pos[np.arange(P), V + np.arange(P)] = 1.0
    enc.position_encodings.encodings = pos
    dec.position_encodings.encodings = pos.copy()
    demb = np.zeros((len(tgt_vocab), d), f32)
    demb[:, const] = 1.0
    dec.embeddings.weight = demb

    def zero_linear(lin: common_spec.LinearSpec, n_out: int, n_in: int) -> None:
        lin.weight = np.zeros((n_out, n_in), f32)
        lin.bias = np.zeros(n_out, f32)

    def unit_ln(ln: common_spec.LayerNormSpec) -> None:
        ln.gamma, ln.beta = np.ones(d, f32), np.zeros(d, f32)

    ffn = 4
    for layer in list(enc.layer) + list(dec.layer):
        unit_ln(layer.self_attention.layer_norm)
        zero_linear(layer.self_attention.linear[0], 3 * d, d)
        zero_linear(layer.self_attention.linear[1], d, d)
        unit_ln(layer.ffn.layer_norm)
        zero_linear(layer.ffn.linear_0, ffn, d)
        zero_linear(layer.ffn.linear_1, d, ffn)
    enc.layer_norm.gamma, enc.layer_norm.beta = ln_identity([1.0, 1.0])
    att = dec.layer[0].attention
    att.layer_norm.gamma, att.layer_norm.beta = ln_identity([1.0, 1.0])
    q = np.zeros((d, d), f32)
    q[V + np.arange(P), V + np.arange(P)] = 40.0 * math.sqrt(d)  # logit 40 on the matching position
    att.linear[0].weight, att.linear[0].bias = q, np.zeros(d, f32)
    kv = np.zeros((2 * d, d), f32)
    kv[V + np.arange(P), V + np.arange(P)] = 1.0  # keys: position
    kv[d + np.arange(V), np.arange(V)] = 1.0  # values: source piece
    att.linear[1].weight, att.linear[1].bias = kv, np.zeros(2 * d, f32)
    o = np.zeros((d, d), f32)
    o[np.arange(V), np.arange(V)] = 1.0
    att.linear[2].weight, att.linear[2].bias = o, np.zeros(d, f32)
    dec.layer_norm.gamma, dec.layer_norm.beta = ln_identity([1.0, 1.0, 1.0])
    proj = np.zeros((len(tgt_vocab), d), f32)
    for v, piece in enumerate(src_vocab):
        proj[tgt_index[translation(piece)], v] = logit
    dec.projection.weight, dec.projection.bias = proj, np.zeros(len(tgt_vocab), f32)
    spec.register_source_vocabulary(src_vocab)
    spec.register_target_vocabulary(tgt_vocab)
    spec.validate()
    spec.save(str(out_dir))
    assert ctranslate2.contains_model(str(out_dir))
    return out_dir


def translate_words(text: str, dictionary: Mapping[str, str] = DICT_EN_DE) -> str:
    """The known answer: word-by-word dictionary translation of space-separated ``text``."""
    return " ".join(dictionary.get(w, w) for w in text.split())



_CACHE: dict[str, object] = {}


def known_answer(tmp_path_factory):
    """The known-answer model behind the real adapter (``workbench.mt.CT2Model``), built once."""
    from workbench.mt import CT2Model

    if "model" not in _CACHE:
        d = build_known_answer_model(tmp_path_factory.mktemp("known-answer"))
        _CACHE["model"] = CT2Model(d, beam_size=2, max_decoding_length=200, intra_threads=1)
    return _CACHE["model"]
