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

:func:`build_reordering_model` adds a changed word order (``red house`` -> ``casa roja``): its
encoder finds adjective-noun pairs and swaps their target positions (see its docstring).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["DICT_EN_DE", "DICT_EN_ES", "MARKERS", "build_known_answer_model", "build_reordering_model", "build_spm",
           "known_answer", "reorder_words", "translate_words"]

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
    write_family(out_dir, "known-answer", max_positions)
    return out_dir


def write_family(out_dir: Path, name: str, max_positions: int) -> None:
    """``workbench.json``: the model is read as a single-pair OPUS-MT (Marian) model by
    ``workbench.mt.models`` (no language tokens; ``</s>`` after the source)."""
    import json

    (Path(out_dir) / "workbench.json").write_text(json.dumps(
        {"source": name, "family": "marian.v1", "max_input_length": max_positions}))


def translate_words(text: str, dictionary: Mapping[str, str] = DICT_EN_DE) -> str:
    """The known answer: word-by-word dictionary translation of space-separated ``text``."""
    return " ".join(dictionary.get(w, w) for w in text.split())



_CACHE: dict[str, object] = {}


def known_answer(tmp_path_factory):
    """The known-answer model behind the real adapter (``workbench.mt.ct2.CT2Model``), built once."""
    from workbench.mt.ct2 import CT2Model

    if "model" not in _CACHE:
        d = build_known_answer_model(tmp_path_factory.mktemp("known-answer"))
        _CACHE["model"] = CT2Model(d, beam_size=2, max_decoding_length=200, intra_threads=1)
    return _CACHE["model"]


#: a dictionary for the reordering model: English adjective + noun -> noun + adjective
DICT_EN_ES: dict[str, str] = {
    "the": "la", "red": "roja", "old": "vieja", "big": "grande", "house": "casa", "city": "ciudad",
    "bank": "banco", "is": "es", "John": "Juan", "Mary": "María", "visited": "visitó", "in": "en",
    "Paris": "París", "London": "Londres", "and": "y", "lives": "vive", ".": ".", ",": ",",
}
ADJECTIVES = ("red", "old", "big")
NOUNS = ("house", "city", "bank")


def build_reordering_model(out_dir: Path, dictionary: Mapping[str, str] = DICT_EN_ES,
                           adjectives: tuple[str, ...] = ADJECTIVES, nouns: tuple[str, ...] = NOUNS,
                           max_positions: int = 64, logit: float = 12.0) -> Path:
    """A known-answer model that also reorders: ``ADJ NOUN`` -> ``NOUN ADJ`` (``red house`` ->
    ``casa roja``), word by word otherwise.

    As :func:`build_known_answer_model`, plus: the encoder (2 heads) looks at its neighbours (head
    A: is the next piece a noun? head B: is the previous one an adjective?) and its feed-forward
    layer moves a "target position" one-hot by +1 for an adjective before a noun and by -1 for a
    noun after an adjective (step functions made of two ReLUs). Decoder step t attends the
    source piece whose target position is t. ``max_decoding_length`` must stay below
    ``max_positions``.
    """
    import ctranslate2
    from ctranslate2.specs import transformer_spec

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    src_vocab = build_spm(out_dir / "source.spm", list(dictionary))
    tgt_vocab = build_spm(out_dir / "target.spm", list(dictionary.values()))
    tgt_index = {p: i for i, p in enumerate(tgt_vocab)}
    V, P = len(src_vocab), max_positions
    TOK, POS, TPOS = 0, V, V + P
    NN, PA, CONST = V + 2 * P, V + 2 * P + 1, V + 2 * P + 2
    H = max(V, P) + 2
    d = max(2 * H, V + 2 * P + 3)
    d += d % 2
    H = d // 2
    eps, f32 = 1e-6, np.float32
    adj = [src_vocab.index("▁" + w) for w in adjectives]
    noun = [src_vocab.index("▁" + w) for w in nouns]

    def ln_identity(k: int) -> tuple[np.ndarray, np.ndarray]:
        mu = k / d
        return np.full(d, math.sqrt(k / d - mu * mu + eps), f32), np.full(d, mu, f32)

    def Z(*shape: int) -> np.ndarray:
        return np.zeros(shape, f32)

    spec = transformer_spec.TransformerSpec.from_config((1, 1), 2, pre_norm=True)
    spec.config.add_source_eos = True
    spec.config.layer_norm_epsilon = eps
    enc, dec = spec.encoder, spec.decoder
    enc.scale_embeddings = dec.scale_embeddings = False
    emb = Z(V, d)
    emb[np.arange(V), TOK + np.arange(V)] = 1.0
    enc.embeddings[0].weight = emb
    pos = Z(P, d)
    pos[np.arange(P), POS + np.arange(P)] = 1.0
    pos[np.arange(P), TPOS + np.arange(P)] = 1.0
    enc.position_encodings.encodings = pos
    dpos = Z(P, d)
    dpos[np.arange(P), POS + np.arange(P)] = 1.0
    dec.position_encodings.encodings = dpos
    demb = Z(len(tgt_vocab), d)
    demb[:, CONST] = 1.0
    dec.embeddings.weight = demb
    s = 40.0 * math.sqrt(H)
    # encoder self-attention: head A reads "next is a noun", head B "previous is an adjective"
    e = enc.layer[0]
    e.self_attention.layer_norm.gamma, e.self_attention.layer_norm.beta = ln_identity(3)
    qkv = Z(3 * d, d)
    for p in range(P):
        if p + 1 < P:
            qkv[p + 1, POS + p] = s  # head A query: position p+1
        qkv[p, POS + p] += 0.5 * s  # ... or itself when there is none
        if p >= 1:
            qkv[H + p - 1, POS + p] = s  # head B query: position p-1
        qkv[H + p, POS + p] += 0.5 * s
        qkv[d + p, POS + p] = 1.0  # head A key
        qkv[d + H + p, POS + p] = 1.0  # head B key
    for v in noun:
        qkv[2 * d + 0, TOK + v] = 1.0  # head A value: noun flag
    for v in adj:
        qkv[2 * d + H, TOK + v] = 1.0  # head B value: adjective flag
    e.self_attention.linear[0].weight, e.self_attention.linear[0].bias = qkv, Z(3 * d)
    o = Z(d, d)
    o[NN, 0] = 1.0
    o[PA, H] = 1.0
    e.self_attention.linear[1].weight, e.self_attention.linear[1].bias = o, Z(d)
    # encoder FFN: move the target position of swapped pieces (two ReLUs = a clamped step)
    e.ffn.layer_norm.gamma, e.ffn.layer_norm.beta = ln_identity(3)
    hidden = 4 * P
    w1, b1, w2 = Z(hidden, d), Z(hidden), Z(d, hidden)
    lo, hi = 2.1, 2.3
    for p in range(P):
        for case, (words, flag, shift) in enumerate(((adj, NN, +1), (noun, PA, -1))):
            if not 0 <= p + shift < P:
                continue
            for j, thr in enumerate((lo, hi)):
                u = 4 * p + 2 * case + j
                w1[u, POS + p] = 1.0
                w1[u, flag] = 1.0
                for v in words:
                    w1[u, TOK + v] = 1.0
                b1[u] = -thr
                sign = 1.0 if j == 0 else -1.0
                w2[TPOS + p, u] = -sign / (hi - lo)
                w2[TPOS + p + shift, u] = sign / (hi - lo)
    e.ffn.linear_0.weight, e.ffn.linear_0.bias = w1, b1
    e.ffn.linear_1.weight, e.ffn.linear_1.bias = w2, Z(d)
    enc.layer_norm.gamma, enc.layer_norm.beta = ln_identity(3)
    # decoder: self-attention and FFN off; cross-attention head A: query position t, key target position
    dl = dec.layer[0]
    dl.self_attention.layer_norm.gamma, dl.self_attention.layer_norm.beta = ln_identity(2)
    dl.self_attention.linear[0].weight, dl.self_attention.linear[0].bias = Z(3 * d, d), Z(3 * d)
    dl.self_attention.linear[1].weight, dl.self_attention.linear[1].bias = Z(d, d), Z(d)
    dl.ffn.layer_norm.gamma, dl.ffn.layer_norm.beta = ln_identity(3)
    dl.ffn.linear_0.weight, dl.ffn.linear_0.bias = Z(4, d), Z(4)
    dl.ffn.linear_1.weight, dl.ffn.linear_1.bias = Z(d, 4), Z(d)
    att = dl.attention
    att.layer_norm.gamma, att.layer_norm.beta = ln_identity(2)
    q = Z(d, d)
    q[np.arange(P), POS + np.arange(P)] = s
    att.linear[0].weight, att.linear[0].bias = q, Z(d)
    kv = Z(2 * d, d)
    kv[np.arange(P), TPOS + np.arange(P)] = 1.0
    kv[d + np.arange(V), TOK + np.arange(V)] = 1.0
    att.linear[1].weight, att.linear[1].bias = kv, Z(2 * d)
    o = Z(d, d)
    o[TOK + np.arange(V), np.arange(V)] = 1.0
    att.linear[2].weight, att.linear[2].bias = o, Z(d)
    dec.layer_norm.gamma, dec.layer_norm.beta = ln_identity(3)
    proj = Z(len(tgt_vocab), d)
    for v, piece in enumerate(src_vocab):
        tr = "▁" + dictionary[piece[1:]] if piece.startswith("▁") and piece[1:] in dictionary else piece
        proj[tgt_index[tr], TOK + v] = logit
    dec.projection.weight, dec.projection.bias = proj, Z(len(tgt_vocab))
    spec.register_source_vocabulary(src_vocab)
    spec.register_target_vocabulary(tgt_vocab)
    spec.validate()
    spec.save(str(out_dir))
    assert ctranslate2.contains_model(str(out_dir))
    return out_dir


def reorder_words(text: str, dictionary: Mapping[str, str] = DICT_EN_ES,
                  adjectives: tuple[str, ...] = ADJECTIVES, nouns: tuple[str, ...] = NOUNS) -> str:
    """The known answer of the reordering model."""
    w = text.split()
    for i in range(len(w) - 1):
        if w[i] in adjectives and w[i + 1] in nouns:
            w[i], w[i + 1] = w[i + 1], w[i]
    return " ".join(dictionary.get(x, x) for x in w)
