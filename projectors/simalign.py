"""SimAlign-style word alignment from a multilingual encoder (Jalili Sabet et al., 2020).

Words are split into subword pieces by the model's (fast) tokenizer, each sentence is encoded on
its own (sentences of a batch padded together, several pairs per forward pass), the hidden states
of one layer give piece embeddings (``token_type="bpe"``; ``"word"`` averages each word's pieces
first), and similarities ``(cos + 1) / 2`` between source and target are turned into links by
``argmax`` (mutual best), ``itermax`` (mutual best, iterated) or ``match`` (maximum-weight
bipartite matching). With ``bpe`` two words are linked when any of their pieces are.

The links are those of the ``simalign`` package (0.4) with the same model, layer, token type and
method (``tests/projectors/test_simalign_reference.py``), except on sentences longer than the
encoder's limit: the package cuts them off (``bpe``: no links past the limit; ``word``: an
IndexError), these are encoded in overlapping windows, so every word is aligned; and blank words
with ``word``, which get no link here and a ValueError (a mean of no pieces) there.

Works with any encoder ``transformers.AutoModel`` loads: mBERT, XLM-R, LaBSE (a Hub id, or a
local directory). Uses the GPU when there is one (``device``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from projectors.spans import word_spans_of_pieces
from projectors.word_alignment import Aligner, Links

__all__ = ["SimAligner", "SimAlignOptions", "itermax", "argmax_links", "match_links", "windows"]

METHODS = ("itermax", "argmax", "match")
TOKEN_TYPES = ("bpe", "word")


@dataclass
class SimAlignOptions:
    """Options of :class:`SimAligner`.

    Attributes:
        model: Hub id or local directory of the encoder (``bert-base-multilingual-cased``).
        method: ``itermax`` (default), ``argmax`` or ``match`` (SimAlign's ``i``, ``a``, ``m``).
        layer: hidden layer whose states are the embeddings (8, SimAlign's choice for mBERT;
            clipped to the model's depth).
        token_type: ``bpe`` (default: pieces are aligned, SimAlign's default) or ``word`` (each
            word's pieces averaged first).
        batch_size: inputs per forward pass (32).
        device: ``"cuda"``, ``"cpu"`` or ``None`` for the GPU when present.
        max_length: longest encoder input in pieces, special tokens included (512; the model's
            own limit when that is smaller). A longer sentence is encoded in overlapping windows
            of this length (:func:`windows`), so no word is cut off.
    """

    model: str = "bert-base-multilingual-cased"
    method: str = "itermax"
    layer: int = 8
    token_type: str = "bpe"
    batch_size: int = 32
    device: str | None = None
    max_length: int = 512

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be itermax, argmax or match, got {self.method!r}")
        if self.token_type not in TOKEN_TYPES:
            raise ValueError(f"token_type must be bpe or word, got {self.token_type!r}")
        if self.layer < 0:
            raise ValueError(f"layer must be >= 0, got {self.layer}")
        for name in ("batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


def argmax_links(sim: np.ndarray) -> np.ndarray:
    """Mutual argmax: 1 where a cell is the maximum of its row and of its column."""
    m, n = sim.shape
    if m == 0 or n == 0:
        return np.zeros((m, n))
    fwd = np.eye(n)[sim.argmax(axis=1)]
    bwd = np.eye(m)[sim.argmax(axis=0)].T
    return fwd * bwd


def itermax(sim: np.ndarray, max_count: int = 2, alpha: float = 0.9) -> np.ndarray:
    """SimAlign's IterMax: mutual argmax, then again over rows/columns still unaligned.

    ``sim`` must be SimAlign's similarity ``(cos + 1) / 2`` in [0, 1], not the cosine: the second
    round scales cells by ``alpha`` and zeroes aligned ones, which orders cosines differently
    (with raw cosines a third of random matrices got other links than the package)."""
    m, n = sim.shape
    inter = argmax_links(sim)
    if min(m, n) <= 2:
        return inter
    count = 1
    while count < max_count:
        mask_x = 1.0 - np.tile(inter.sum(1)[:, None], (1, n)).clip(0.0, 1.0)
        mask_y = 1.0 - np.tile(inter.sum(0)[None, :], (m, 1)).clip(0.0, 1.0)
        mask = (alpha * mask_x + alpha * mask_y).clip(0.0, 1.0)
        mask_zeros = 1.0 - (1.0 - mask_x) * (1.0 - mask_y)
        if mask_x.sum() < 1.0 or mask_y.sum() < 1.0:
            break
        new_sim = sim * mask
        fwd = np.eye(n)[new_sim.argmax(axis=1)] * mask_zeros
        bwd = np.eye(m)[new_sim.argmax(axis=0)].T * mask_zeros
        new = fwd * bwd
        if np.array_equal(inter + new, inter):
            break
        inter = inter + new
        count += 1
    return inter.clip(0.0, 1.0)


def match_links(sim: np.ndarray) -> np.ndarray:
    """Maximum-weight bipartite matching (Hungarian algorithm, O(n^3))."""
    m, n = sim.shape
    out = np.zeros((m, n))
    if m == 0 or n == 0:
        return out
    transposed = m > n
    cost = -(sim.T if transposed else sim)  # rows <= columns
    r, c = cost.shape
    inf = float("inf")
    u = np.zeros(r + 1)
    v = np.zeros(c + 1)
    p = np.zeros(c + 1, dtype=int)  # p[j]: row matched to column j (1-based), 0 = none
    way = np.zeros(c + 1, dtype=int)
    for i in range(1, r + 1):
        p[0] = i
        j0 = 0
        minv = np.full(c + 1, inf)
        used = np.zeros(c + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = p[j0]
            cur = cost[i0 - 1] - u[i0] - v[1:]
            free = ~used[1:]
            better = free & (cur < minv[1:])
            minv[1:][better] = cur[better]
            way[1:][better] = j0
            cand = np.where(free, minv[1:], inf)
            j1 = int(cand.argmin()) + 1
            delta = cand[j1 - 1]
            u[p[used]] += delta
            v[used] -= delta
            minv[1:][free] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while j0:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    for j in range(1, c + 1):
        if p[j]:
            if transposed:
                out[j - 1, p[j] - 1] = 1.0
            else:
                out[p[j] - 1, j - 1] = 1.0
    return out


def windows(n: int, width: int) -> list[tuple[int, int]]:
    """Windows ``[a, b)`` of at most ``width`` pieces covering ``0..n``, half a window apart.

    One window when the sentence fits; otherwise the last window ends at ``n``, so every window
    is full and each piece has at least a quarter window of context on both sides in one of them
    (except at the sentence's own ends)."""
    if n <= width:
        return [(0, n)]
    step = max(1, width // 2)
    return [(a, a + width) for a in range(0, n - width, step)] + [(n - width, n)]


def _owners(n: int, wins: Sequence[tuple[int, int]]) -> list[int]:
    """For each piece, the window in which it is furthest from a cut (the most context)."""
    best = [-1] * n
    room = [-1] * n
    for w, (a, b) in enumerate(wins):
        for p in range(a, b):
            r = min(p - a if a > 0 else n, b - 1 - p if b < n else n)  # a sentence end is no cut
            if r > room[p]:
                best[p], room[p] = w, r
    return best


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


class SimAligner(Aligner):
    """Aligns pairs with a multilingual encoder's embeddings (batched forward passes)."""

    name = "simalign"

    def __init__(self, options: SimAlignOptions | None = None, **kwargs: Any):
        self.options = options or SimAlignOptions(**kwargs)
        self._model: Any = None
        self._tok: Any = None
        self._device: str = "cpu"
        self._prefix: list[int] = []
        self._suffix: list[int] = []
        self.width = 0  # word pieces per encoder input (the limit less the special tokens)

    def signature(self) -> dict[str, Any]:
        o = self.options
        return {"aligner": "simalign", "model": o.model, "method": o.method, "layer": o.layer,
                "token_type": o.token_type}

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModel, AutoTokenizer

        o = self.options
        try:
            self._tok = AutoTokenizer.from_pretrained(o.model)
            self._model = AutoModel.from_pretrained(o.model)
        except OSError as exc:
            raise OSError(
                f"cannot load the encoder {o.model!r}: {exc}. Give a local directory with the model "
                "and tokenizer, or a Hub id while online (it is cached for later offline use)"
            ) from exc
        if not getattr(self._tok, "is_fast", False):
            raise ValueError(f"the tokenizer of {o.model!r} is not a fast tokenizer (word ids needed)")
        # the special tokens the tokenizer puts around one sentence ([CLS] .. [SEP], <s> .. </s>),
        # added by hand around each window of pieces
        probe = self._tok([["a"]], is_split_into_words=True)
        ids, wid = probe["input_ids"][0], probe.word_ids(0)
        first, last = wid.index(0), len(wid) - 1 - wid[::-1].index(0)
        self._prefix, self._suffix = list(ids[:first]), list(ids[last + 1:])
        self.width = self._limit() - len(self._prefix) - len(self._suffix)
        if self.width < 1:
            raise ValueError(f"max_length={o.max_length} leaves no room for a word piece beside the "
                             f"{len(self._prefix) + len(self._suffix)} special tokens; give a larger max_length")
        self._device = o.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model.to(self._device).eval()

    def _limit(self) -> int:
        """Longest input, special tokens included: the smallest of max_length, the tokenizer's
        model_max_length and the model's position table."""
        cfg = self._model.config
        limits = [self.options.max_length]
        tok_max = getattr(self._tok, "model_max_length", None)
        if isinstance(tok_max, int) and tok_max < 10**9:  # unset is transformers' VERY_LARGE_INTEGER
            limits.append(tok_max)
        pos = getattr(cfg, "max_position_embeddings", None)
        if isinstance(pos, int) and pos > 0:
            if getattr(cfg, "model_type", "") in ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert"):
                pos -= (getattr(cfg, "pad_token_id", None) or 0) + 1  # positions start after padding_idx
            limits.append(pos)
        return min(limits)

    def embed(self, sentences: Sequence[Sequence[str]]) -> list[tuple[np.ndarray, list[list[int]]]]:
        """Per sentence: the hidden states of its pieces (pieces x dim, float32, as the encoder gave
        them) and the pieces of each word. A sentence longer than the encoder's limit is encoded in
        overlapping :func:`windows`; each piece keeps its states from the window where it has the
        most context."""
        import torch

        self._load()
        o = self.options
        n_layers = int(getattr(self._model.config, "num_hidden_layers", o.layer))
        layer = max(0, min(o.layer, n_layers))
        words = [["" if w is None else str(w) for w in s] for s in sentences]
        nonempty = [k for k, s in enumerate(words) if s]
        ids: list[list[int]] = [[] for _ in words]
        pieces: list[list[list[int]]] = [[] for _ in words]
        if nonempty:
            # no special tokens and no truncation: windows are cut here, by piece (verbose=False:
            # no "longer than the maximum" warning for the sentences that get windows)
            enc = self._tok([words[k] for k in nonempty], is_split_into_words=True,
                            add_special_tokens=False, verbose=False)
            for b, k in enumerate(nonempty):
                ids[k] = list(enc["input_ids"][b])
                pieces[k] = word_spans_of_pieces(enc.word_ids(b), len(words[k]))
        # one encoder input per window: (sentence, window start, window end, pieces it fills)
        segments: list[tuple[int, int, int, list[int]]] = []
        for k, piece_ids in enumerate(ids):
            wins = windows(len(piece_ids), self.width)
            owner = _owners(len(piece_ids), wins)
            for w, (a, b) in enumerate(wins):
                segments.append((k, a, b, [p for p in range(a, b) if owner[p] == w]))
        dim = int(getattr(self._model.config, "hidden_size", 0))
        states = [np.zeros((len(x), dim), dtype=np.float32) for x in ids]
        segments.sort(key=lambda seg: seg[2] - seg[1])  # similar lengths share a batch: less padding
        pad = self._tok.pad_token_id if self._tok.pad_token_id is not None else 0
        start = len(self._prefix)
        for lo in range(0, len(segments), o.batch_size):
            batch = [seg for seg in segments[lo: lo + o.batch_size] if seg[3]]
            if not batch:
                continue
            rows = [self._prefix + ids[k][a:b] + self._suffix for k, a, b, _ in batch]
            longest = max(len(r) for r in rows)
            input_ids = torch.tensor([r + [pad] * (longest - len(r)) for r in rows])
            mask = torch.tensor([[1] * len(r) + [0] * (longest - len(r)) for r in rows])
            with torch.no_grad():
                res = self._model(input_ids=input_ids.to(self._device), attention_mask=mask.to(self._device),
                                  output_hidden_states=True)
            hid = res.hidden_states[layer].float().cpu().numpy()
            if hid.shape[-1] != dim:
                raise ValueError(f"hidden states of {o.model!r} have {hid.shape[-1]} dimensions, "
                                 f"its config says hidden_size={dim}")
            for row, (k, a, _b, own) in enumerate(batch):
                states[k][own] = hid[row, [start + p - a for p in own]]
        return list(zip(states, pieces, strict=True))

    def align(
        self,
        src: Sequence[Sequence[str]],
        tgt: Sequence[Sequence[str]],
        extra: Sequence[tuple[Sequence[str], Sequence[str]]] = (),
    ) -> list[Links]:
        if len(src) != len(tgt):
            raise ValueError(f"{len(src)} source sentences but {len(tgt)} target sentences")
        if not src:
            return []
        emb = self.embed(list(src) + list(tgt))
        fn = {"itermax": itermax, "argmax": argmax_links, "match": match_links}[self.options.method]
        by_word = self.options.token_type == "word"
        out: list[Links] = []
        for k in range(len(src)):
            (s_vec, s_row), (t_vec, t_row) = (_rows(*emb[x], by_word) for x in (k, len(src) + k))
            links: Links = {}
            if len(s_row) and len(t_row):
                cos = _unit(s_vec) @ _unit(t_vec).T
                mat = fn((cos + 1.0) / 2.0)  # SimAlign's similarity (itermax depends on it)
                for a, b in zip(*np.nonzero(mat), strict=True):
                    i, j = s_row[int(a)], t_row[int(b)]
                    sc = round(0.5 + 0.5 * max(0.0, float(cos[a, b])), 4)
                    links[(i, j)] = max(links.get((i, j), 0.0), sc)
            out.append(links)
        return out


def _rows(states: np.ndarray, pieces: list[list[int]], by_word: bool) -> tuple[np.ndarray, list[int]]:
    """The vectors to align and the word of each: the pieces (``bpe``), or per word the mean of its
    pieces' states (``word``; averaged before normalising, as SimAlign does). Words without a piece
    (blank, or characters the tokenizer drops) have no row."""
    if by_word:
        words = [w for w, ps in enumerate(pieces) if ps]
        vecs = [states[pieces[w]].mean(axis=0) for w in words]
        return (np.stack(vecs) if vecs else np.zeros((0, states.shape[1]), dtype=np.float32)), words
    word_of = {p: w for w, ps in enumerate(pieces) for p in ps}
    rows = sorted(word_of)
    return states[rows], [word_of[p] for p in rows]
