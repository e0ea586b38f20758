"""SimAlign-style word alignment from a multilingual encoder (Jalili Sabet et al., 2020).

Words are split into subword pieces by the model's (fast) tokenizer, each sentence is encoded on
its own (sentences of a batch padded together, several pairs per forward pass), the hidden states
of one layer give piece embeddings, and cosine similarities between source and target pieces are
turned into links by ``argmax`` (mutual best), ``itermax`` (mutual best, iterated) or ``match``
(maximum-weight bipartite matching). Two words are linked when any of their pieces are.

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

__all__ = ["SimAligner", "SimAlignOptions", "itermax", "argmax_links", "match_links"]

METHODS = ("itermax", "argmax", "match")


@dataclass
class SimAlignOptions:
    """Options of :class:`SimAligner`.

    Attributes:
        model: Hub id or local directory of the encoder (``bert-base-multilingual-cased``).
        method: ``itermax`` (default), ``argmax`` or ``match``.
        layer: hidden layer whose states are the embeddings (8, SimAlign's choice for mBERT;
            clipped to the model's depth).
        batch_size: sentences per forward pass (32).
        device: ``"cuda"``, ``"cpu"`` or ``None`` for the GPU when present.
        max_length: pieces per sentence; words beyond it get no links (512).
    """

    model: str = "bert-base-multilingual-cased"
    method: str = "itermax"
    layer: int = 8
    batch_size: int = 32
    device: str | None = None
    max_length: int = 512

    def __post_init__(self) -> None:
        if self.method not in ("itermax", "argmax", "match"):
            raise ValueError(f"method must be itermax, argmax or match, got {self.method!r}")
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
    """SimAlign's IterMax: mutual argmax, then again over rows/columns still unaligned."""
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


class SimAligner(Aligner):
    """Aligns pairs with a multilingual encoder's embeddings (batched forward passes)."""

    name = "simalign"

    def __init__(self, options: SimAlignOptions | None = None, **kwargs: Any):
        self.options = options or SimAlignOptions(**kwargs)
        if self.options.method not in METHODS:
            raise ValueError(f"unknown SimAlign method {self.options.method!r}; one of {', '.join(METHODS)}")
        self._model: Any = None
        self._tok: Any = None
        self._device: str = "cpu"

    def signature(self) -> dict[str, Any]:
        o = self.options
        return {"aligner": "simalign", "model": o.model, "method": o.method, "layer": o.layer}

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
        self._device = o.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self._model.to(self._device).eval()

    def embed(self, sentences: Sequence[Sequence[str]]) -> list[tuple[np.ndarray, list[list[int]]]]:
        """Per sentence: piece embeddings (pieces x dim, L2-normalised) and the pieces of each word."""
        import torch

        self._load()
        o = self.options
        n_layers = int(getattr(self._model.config, "num_hidden_layers", o.layer))
        layer = max(0, min(o.layer, n_layers))
        out: list[tuple[np.ndarray, list[list[int]]] | None] = [None] * len(sentences)
        order = sorted(range(len(sentences)), key=lambda k: len(sentences[k]))
        for lo in range(0, len(order), max(1, o.batch_size)):
            idx = order[lo: lo + max(1, o.batch_size)]
            words = [[w if w.strip() else "_" for w in sentences[k]] or ["_"] for k in idx]
            enc = self._tok(words, is_split_into_words=True, return_tensors="pt", padding=True,
                            truncation=True, max_length=min(o.max_length, self._tok.model_max_length))
            with torch.no_grad():
                res = self._model(**{k: v.to(self._device) for k, v in enc.items()},
                                  output_hidden_states=True)
            hid = res.hidden_states[layer].float()
            hid = torch.nn.functional.normalize(hid, dim=-1).cpu().numpy()
            for b, k in enumerate(idx):
                n_words = len(sentences[k])
                wid = enc.word_ids(b)
                pieces = word_spans_of_pieces(wid, n_words)
                keep = sorted(p for ps in pieces for p in ps)
                pos = {p: q for q, p in enumerate(keep)}
                out[k] = (hid[b, keep], [[pos[p] for p in ps] for ps in pieces])
        return [x if x is not None else (np.zeros((0, 1)), []) for x in out]

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
        out: list[Links] = []
        for k in range(len(src)):
            (se, sp), (te, tp) = emb[k], emb[len(src) + k]
            links: Links = {}
            if se.shape[0] and te.shape[0]:
                sim = se @ te.T
                mat = fn(sim)
                s_word = {p: w for w, ps in enumerate(sp) for p in ps}
                t_word = {p: w for w, ps in enumerate(tp) for p in ps}
                for a, b in zip(*np.nonzero(mat), strict=True):
                    i, j = s_word.get(int(a)), t_word.get(int(b))
                    if i is not None and j is not None:
                        sc = round(0.5 + 0.5 * max(0.0, float(sim[a, b])), 4)
                        links[(i, j)] = max(links.get((i, j), 0.0), sc)
            out.append(links)
        return out
