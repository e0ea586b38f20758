"""The translate engine: CTranslate2 batches in, translations out, with the cache passed in.

Texts already in the cache are not translated again; the rest are tokenised, cut into the batches
CTranslate2 would make (longest first, ``max_batch_tokens`` source tokens each) and submitted
asynchronously: a chunk with more queued behind it in one call per decoding limit, the last
chunk batch by batch, most expensive first and ending in small batches so parallel workers
finish together (:mod:`workbench.translate.batching`). Inputs longer than the model's
limit are split at sentence boundaries (then clauses, words) and the parts' translations
rejoined; ``meta["mt_split"]`` records the source and target character ranges of every part.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from workbench.core.arrow import texts_table
from workbench.core.errors import InputError
from workbench.core.records import TEXT_FROM_TOKENS, Example, tokenize
from workbench.core.segment import RESPLIT_DEPTH, split_ranges  # RESPLIT_DEPTH: shared with CT2Model
from workbench.mt.device import engine_error
from workbench.mt.languages import parse, short_code
from workbench.mt.models import Model
from workbench.translate.batching import plan_batches
from workbench.translate.cache import TranslationCache, retry_at
from workbench.translate.cache import key as cache_key
from workbench.translate.options import Progress, TranslateOptions

__all__ = ["Engine", "load_translator", "PROGRESS_INTERVAL"]

#: seconds between progress reports (chunk ends are always reported)
PROGRESS_INTERVAL = 0.2
_NO_SPACE_LANGS = {"zh", "ja", "th", "my", "km", "lo", "zho_Hans", "zho_Hant", "jpn_Jpan", "tha_Thai"}




def load_translator(model: Model, device: str, compute_type: str, device_index: list[int],
                    inter: int, intra: int) -> Any:
    """The CTranslate2 ``Translator`` of ``model`` (batches queued without limit: the engine
    plans them)."""
    import ctranslate2

    return ctranslate2.Translator(str(model.path), device=device, device_index=device_index,
                                  compute_type=compute_type, inter_threads=inter,
                                  intra_threads=intra, max_queued_batches=-1)


@dataclass
class _Unit:
    """One distinct source text to translate (maybe in several parts)."""

    key: str
    text: str
    ranges: list[tuple[int, int]]
    results: list[Any] = field(default_factory=list)


@dataclass
class _Chunk:
    examples: list[Example]
    keys: list[str]
    texts: list[str]
    cached: dict[str, dict[str, Any]]
    units: list[_Unit]
    parts: list[tuple[_Unit, int]]
    futures: list[Any]
    sources: list[list[str]]
    caps: list[int]
    per_key: dict[str, int]
    ready: int


class Engine:
    """Translates examples into one target language with a loaded CTranslate2 translator.

    It knows no store: ``cache`` (a :class:`~workbench.translate.cache.TranslationCache`, or
    ``None`` where the driver owns the cache, as for a Ray worker) serves texts translated
    before and takes new translations, written every ``flush_every`` sentences or
    ``flush_seconds``. :meth:`run` pipelines chunks of examples (the next chunk is queued while
    one computes); :meth:`translate` does one chunk.
    """

    def __init__(self, *, model: Model, translator: Any, options: TranslateOptions, src_lang: str,
                 tgt_lang: str, model_key: str, device: str, workers: int = 1,
                 cache: TranslationCache | None = None,
                 progress: Callable[[Progress], None] | None = None, total: int = 0):
        self.model, self.tr = model, translator
        self.o, self.src_lang, self.tgt_lang = options, src_lang, tgt_lang
        fam = model.family
        self.src_tok = fam.token(src_lang, "source")
        self.tgt_tok = fam.token(tgt_lang, "target")
        self.prefix = fam.prefix(self.tgt_tok)
        self.model_key = model_key
        self.params_key = options.decoding_key()
        self.cache = cache
        self._src_code = short_code(src_lang) or src_lang
        self._tgt_code = short_code(tgt_lang) or tgt_lang
        self.batch_tokens = options.max_batch_tokens or (1024 if device == "cpu" else 8192)
        self.limit = model.max_input_length
        #: the examples' language: the normalised tag (``deu_Latn`` -> ``de``)
        self.lang = short_code(tgt_lang) or tgt_lang
        target = parse(tgt_lang)
        self.joiner = "" if (target and target.language in _NO_SPACE_LANGS) or tgt_lang in _NO_SPACE_LANGS else " "
        self.inflight: dict[str, _Unit] = {}
        self.pending_rows: list[dict[str, Any]] = []
        self.pending_index: dict[str, dict[str, Any]] = {}
        self.stats = Progress(tgt_lang, total=total)
        self.t0 = time.monotonic()
        self.last_report = 0.0
        self.last_flush = time.monotonic()
        self._detokenizer: Any = None
        self.progress = progress
        self.device = device
        self.workers = workers

    def input_text(self, ex: Example) -> str:
        """What the model is given for ``ex``: its text, or with ``detokenize`` the natural
        sentence when the text is only its tokens joined by spaces (no original text)."""
        if not self.o.detokenize or len(ex.offsets) < 2 or not ex.meta.get(TEXT_FROM_TOKENS):
            return ex.text  # an original sentence (# text, JSONL text): sent as it is
        toks = ex.tokens
        if ex.text != " ".join(toks):
            return ex.text
        return self._detok(toks)

    def _detok(self, tokens: list[str]) -> str:
        if self._detokenizer is None:
            from sacremoses import MosesDetokenizer

            self._detokenizer = MosesDetokenizer(lang=self._src_code.split("-")[0] or "en")
        return str(self._detokenizer.detokenize(tokens))

    def key(self, text: str) -> str:
        """The cache key of a source text under this model, decoding and language pair."""
        return cache_key(self.model_key, self.params_key, self._src_code, self._tgt_code, text)

    # -- cache ---------------------------------------------------------------------------------
    def _lookup(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return self.cache.lookup(keys) if self.cache is not None else {}

    def flush(self, con: Any = None) -> None:
        """Write pending rows to the cache: in a short transaction of its own, or on ``con``
        (the version's transaction, for the last rows). Without a cache they are dropped; when
        another process holds the lock they stay pending for the next flush."""
        if self.pending_rows:
            if self.cache is not None and con is None:
                if not self.cache.write(self.pending_rows):  # the lock is held: keep them, retry soon
                    self.last_flush = retry_at(self.o.flush_seconds)
                    return
            elif self.cache is not None:
                self.cache.insert(con, self.pending_rows)
            for r in self.pending_rows:
                self.inflight.pop(r["key"], None)
            self.pending_rows = []
            self.pending_index = {}
        self.last_flush = time.monotonic()

    def commit(self, con: Any, version_id: int) -> None:
        """``on_commit`` of the version: the last cache rows go in the version's transaction."""
        self.flush(con)

    # -- pipeline ------------------------------------------------------------------------------
    def prepare(self, examples: list[Example], final: bool = True) -> _Chunk:
        """Look ``examples`` up in the cache and queue the rest on CTranslate2 (asynchronously).
        ``final``: no chunk will be queued behind this one (see :func:`plan_batches`)."""
        texts = [self.input_text(ex) for ex in examples]
        keys = [self.key(t) for t in texts]
        cached = self._lookup(keys)
        per_key: dict[str, int] = {}
        for key in keys:
            per_key[key] = per_key.get(key, 0) + 1
        units: list[_Unit] = []
        parts: list[tuple[_Unit, int]] = []
        sources: list[list[str]] = []
        fam, budget = self.model.family, self.limit - self.model.family.special_tokens
        todo: dict[str, str] = {}  # key -> text, in order, of what is neither cached nor in flight
        for text, key in zip(texts, keys, strict=True):
            if key not in cached and key not in self.inflight and key not in todo:
                todo[key] = text
        encoded_all = dict(zip(todo, self.model.encode_batch(list(todo.values())), strict=True))
        by_key = {k: ex for ex, k in zip(examples, keys, strict=True)}
        for key, text in todo.items():
            ex = by_key[key]
            pieces = encoded_all[key]
            if len(pieces) <= budget:
                unit = _Unit(key, text, [(0, len(text))])
                encoded = [pieces]
            elif not self.o.split_long:
                raise InputError(
                    f"source text has {len(pieces)} tokens, more than the model limit "
                    f"({self.limit} with special tokens)", where=f"example {ex.id}",
                    fix="allow splitting at sentence boundaries (drop --no-split) or shorten it")
            else:
                ranges = split_ranges(text, lambda s: len(self.model.encode(s)) <= budget)
                ranges = [(a, b) for a, b in ranges if text[a:b].strip()]
                unit = _Unit(key, text, ranges)
                encoded = [self.model.encode(text[a:b]) for a, b in ranges]
            unit.results = [None] * len(encoded)
            units.append(unit)
            self.inflight[key] = unit
            for i, pcs in enumerate(encoded):
                parts.append((unit, i))
                sources.append(fam.source(pcs, self.src_tok, self.tgt_tok))
        o = self.o
        plan = plan_batches([len(s) for s in sources], max_tokens=self.batch_tokens,
                            beam_size=o.beam_size, min_out=o.min_decoding_length,
                            max_out=o.max_decoding_length or self.cap(max((len(x) for x in sources), default=1)),
                            workers=self.workers, final=final)
        order = [i for b in plan for i in b]
        parts = [parts[i] for i in order]
        sources = [sources[i] for i in order]
        futures: list[Any] = []
        caps: list[int] = []
        lo = 0
        # one call per run of planned batches that share a decoding limit: CTranslate2 cuts the
        # call by the same rule (longest first, the same token budget), and every call costs the
        # main thread a fixed overhead that a fast model feels (bench/translate.py, fast-model
        # case). The last chunk keeps one call per batch, so its planned order (the small batches
        # last, for the workers to finish together) holds.
        runs: list[tuple[list[list[str]], int]] = []
        for b in plan:
            batch = sources[lo:lo + len(b)]
            lo += len(b)
            cap = self.cap(max(len(x) for x in batch))
            caps += [cap] * len(batch)
            if runs and runs[-1][1] == cap and not final:
                runs[-1][0].extend(batch)
            else:
                runs.append((list(batch), cap))
        for batch, cap in runs:
            futures.extend(self._decode(batch, cap, asynchronous=True, batch_tokens=0 if final else self.batch_tokens))
        ready = len(examples) - sum(per_key[u.key] for u in units)  # cached or in flight
        return _Chunk(examples, keys, texts, cached, units, parts, futures, sources, caps, per_key, ready)

    def cap(self, src_len: int) -> int:
        """The decoding limit of a batch whose longest source has ``src_len`` pieces: the
        ``max_decoding_length`` given, else derived from the length (4 pieces out per piece in,
        plus 16) and at most the model's positions, so a long part is never cut at a fixed 256."""
        if self.o.max_decoding_length:
            return self.o.max_decoding_length
        return min(self.model.max_positions or 1024, 4 * src_len + 16)

    def _decode(self, batch: list[list[str]], cap: int, asynchronous: bool = False, batch_tokens: int = 0) -> Any:
        """CTranslate2's results (futures when ``asynchronous``) of ``batch``: one batch, or cut
        by CTranslate2 into batches of ``batch_tokens`` source tokens."""
        o = self.o
        return self.tr.translate_batch(
            batch, [self.prefix] * len(batch) if self.prefix else None,
            max_batch_size=batch_tokens, batch_type="tokens", asynchronous=asynchronous,
            beam_size=o.beam_size, length_penalty=o.length_penalty,
            repetition_penalty=o.repetition_penalty, no_repeat_ngram_size=o.no_repeat_ngram_size,
            max_decoding_length=cap, min_decoding_length=o.min_decoding_length,
            max_input_length=0, return_scores=o.scores)

    def _result(self, res: Any, src: list[str], cap: int) -> tuple[str, float | None, int, Any, bool]:
        """(text, score, target pieces, token log-probs, cut) of one decoded part (score
        ``None`` with ``scores`` off)."""
        o, k = self.o, len(self.prefix or [])
        hyp = res.hypotheses[0]
        finished = len(hyp) < cap
        norm_len = len(hyp) + (1 if finished else 0)
        n = max(norm_len - k, 1)
        score = (res.scores[0] * (norm_len ** o.length_penalty if o.length_penalty else 1.0)
                 if o.scores else None)
        tlp = None
        if o.token_logprobs:
            sc = self.tr.score_batch([src], [hyp], max_input_length=0)[0]
            # scoring appends </s>: keep its log-prob only when the model generated it
            tlp = [round(x, 5) for x in sc.log_probs[k:len(sc.log_probs) - (0 if finished else 1)]]
            score, n = float(sum(tlp)), len(tlp)
        out = hyp[k:] if self.prefix and hyp[:k] == self.prefix else hyp
        self.stats.tgt_tokens += len(out)
        self.stats.src_tokens += len(src)
        return self.model.decode(out), score, n, tlp, not finished

    def _parts(self, text: str, span: tuple[int, int], result: tuple[str, float, int, Any, bool],
               depth: int = 0) -> list[tuple[tuple[int, int], tuple[str, float, int, Any, bool]]]:
        """The part ``span`` of ``text`` and its result; when the output reached its limit without
        ending, the part is cut in two (at a sentence, clause or word boundary) and each half
        translated again, up to :data:`RESPLIT_DEPTH` times, when the limit was derived (a
        ``max_decoding_length`` the user gives is a cap: what reaches it is flagged). What still
        cannot end keeps its flag (``meta.mt_truncated``): a model that never stops, or one word
        that will not fit."""
        if not result[4] or depth >= RESPLIT_DEPTH or self.o.max_decoding_length:
            return [(span, result)]  # ended, or cut at a limit the user chose: flagged
        a, b = span
        piece = text[a:b]
        n = len(self.model.encode(piece))
        halves = [(a + x, a + y) for x, y in split_ranges(piece, lambda t: len(self.model.encode(t)) <= max(1, (n + 1) // 2))
                  if piece[x:y].strip()]
        if len(halves) < 2:  # one word: nothing to cut
            return [(span, result)]
        self.stats.resplit += 1
        fam = self.model.family
        out = []
        for x, y in halves:
            src = fam.source(self.model.encode(text[x:y]), self.src_tok, self.tgt_tok)
            cap = self.cap(len(src))
            res = self._decode([src], cap)[0]
            out += self._parts(text, (x, y), self._result(res, src, cap), depth + 1)
        return out

    def _unit_row(self, unit: _Unit) -> dict[str, Any]:
        texts, scores, n_tok, lps = [], 0.0, 0, []
        cut = False
        unit.ranges = [span for parts in unit.results for span, _ in parts]  # re-split parts included
        for text, score, n, tlp, part_cut in (r for parts in unit.results for _, r in parts):
            cut = cut or part_cut
            texts.append(text)
            scores += score or 0.0
            n_tok += n
            if tlp is not None:
                lps.extend(tlp)
        split = None
        if len(unit.ranges) > 1:
            tgt, pos = [], 0
            for t in texts:
                tgt.append([pos, pos + len(t)])
                pos += len(t) + len(self.joiner)
            split = {"source": [list(r) for r in unit.ranges], "target": tgt}
        if cut:  # kept in the cache row's JSON, so a cached translation is flagged too
            split = {**(split or {}), "truncated": True}
        return {"key": unit.key, "src_text": unit.text, "text": self.joiner.join(texts),
                "score": round(scores, 6) if self.o.scores else None,
                "avg_logprob": round(scores / max(n_tok, 1), 6) if self.o.scores else None,
                "n_tokens": n_tok, "token_logprobs": lps if self.o.token_logprobs else None,
                "split": json.dumps(split) if split else None}

    def finish(self, chunk: _Chunk) -> list[Example]:
        """The translated examples of a prepared chunk, in order (waits for its batches)."""
        return [self.example(ex, row, given)
                for ex, row, given in zip(chunk.examples, self._rows(chunk), chunk.texts, strict=True)]

    def finish_table(self, chunk: _Chunk) -> pa.Table:
        """:meth:`finish` as a table in the store's schema (what ``examples_to_arrow`` makes of
        the examples), built column by column: what the local stage stages."""
        rows = self._rows(chunk)
        metas = [json.dumps(self._meta(ex, row, given), ensure_ascii=False)
                 for ex, row, given in zip(chunk.examples, rows, chunk.texts, strict=True)]
        return texts_table([ex.id for ex in chunk.examples], [row["text"] for row in rows],
                           splits=[ex.split for ex in chunk.examples], lang=self.lang, metas=metas)

    def _rows(self, chunk: _Chunk) -> list[dict[str, Any]]:
        """The cache row of every example of ``chunk`` (its translation), in order."""
        o = self.o
        done_units: dict[str, dict[str, Any]] = {}
        remaining = {id(u): len(u.results) for u in chunk.units}
        since_flush = 0
        base_done = self.stats.done
        self.stats.done = base_done + chunk.ready
        for (unit, i), fut, src, cap in zip(chunk.parts, chunk.futures, chunk.sources, chunk.caps,
                                            strict=True):
            try:
                res = fut.result()
                parts = self._parts(unit.text, unit.ranges[i], self._result(res, src, cap))
            except RuntimeError as exc:
                err = engine_error(exc, self.device)
                if err is exc:
                    raise
                raise err from exc
            unit.results[i] = parts
            self.stats.truncated += sum(r[4] for _, r in parts)
            remaining[id(unit)] -= 1
            if remaining[id(unit)] == 0:
                new = self._unit_row(unit)
                done_units[unit.key] = new
                self.pending_rows.append(new)
                self.pending_index[unit.key] = new
                self.stats.translated += 1
                self.stats.split += len(unit.ranges) > 1
                self.stats.done += chunk.per_key[unit.key]
                since_flush += 1
                if since_flush >= o.flush_every or time.monotonic() - self.last_flush >= o.flush_seconds:
                    self.flush()
                    since_flush = 0
                self.report()
        out = []
        for ex, key in zip(chunk.examples, chunk.keys, strict=True):
            row: dict[str, Any] | None = (done_units.get(key) or chunk.cached.get(key)
                                          or self.pending_index.get(key))
            if row is None:  # a duplicate text translated by an earlier chunk, already written
                row = self._lookup([key]).get(key)
            if row is None:
                raise RuntimeError(f"no translation for example {ex.id}")  # a bug, not input
            if key not in done_units:
                self.stats.cached += 1
            out.append(row)
        self.stats.done = base_done + len(chunk.examples)
        self.report(force=True)
        return out

    def example(self, src: Example, row: dict[str, Any], given: str | None = None) -> Example:
        """The translated example of ``src`` from its cache row (``given``: the model's input,
        :meth:`input_text`, when already known)."""
        text = row["text"]
        return Example(id=src.id, text=text, offsets=tokenize(text), spans=[], lang=self.lang,
                       split=src.split, meta=self._meta(src, row, given))

    def _meta(self, src: Example, row: dict[str, Any], given: str | None) -> dict[str, Any]:
        meta: dict[str, Any] = {"src_text": src.text, "src_lang": self.src_lang}
        if row["score"] is not None:  # None: translated with scores off
            meta["mt_score"], meta["mt_avg_logprob"] = row["score"], row["avg_logprob"]
        given = self.input_text(src) if given is None else given
        if given != src.text:
            meta["mt_input"] = given  # the detokenised sentence the model was given
        if row.get("token_logprobs") is not None:
            meta["mt_token_logprobs"] = list(row["token_logprobs"])
        if row.get("split"):
            split = json.loads(row["split"]) if isinstance(row["split"], str) else dict(row["split"])
            if split.pop("truncated", False):
                # the output reached max_decoding_length without ending: text may be missing
                meta["mt_truncated"] = True
            if split:
                meta["mt_split"] = split
        return meta

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress is None or (not force and now - self.last_report < PROGRESS_INTERVAL):
            return
        self.last_report = now
        self.stats.elapsed = now - self.t0
        self.progress(Progress(**asdict(self.stats)))

    def translate(self, examples: list[Example]) -> list[Example]:
        """Translate one chunk of examples now (a shard of a Ray worker)."""
        out = self.finish(self.prepare(examples))
        self.flush()
        return out

    def run(self, chunks: Iterable[list[Example]], total: int) -> Iterator[pa.Table]:
        """Translated chunks, in order, as tables in the store's schema (:meth:`finish_table`,
        for ``Store.write_version``); the next chunk is queued while this one finishes.
        ``total``: the number of examples in all chunks (the last one ends in small batches)."""
        pending: deque[_Chunk] = deque()
        try:
            read = 0
            for examples in chunks:
                read += len(examples)
                pending.append(self.prepare(examples, final=read >= total))
                if len(pending) > 1:  # keep the next chunk queued while this one finishes
                    yield self.finish_table(pending.popleft())
            while pending:
                yield self.finish_table(pending.popleft())
        except BaseException:
            try:  # keep what was translated (Ctrl-C, a failing write): a rerun resumes from it
                self.flush()
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
            raise
