"""The translate stage over CTranslate2: streaming, token batching, cache and resume.

For each target language a new version ``{corpus}.{tgt}`` is written (stage ``translate``, parent
the source version). Each example keeps its source ``id`` and ``split``; ``meta`` holds
``src_text``, ``src_lang``, ``mt_score`` (sentence log-probability), ``mt_avg_logprob`` (per
target token) and, with ``token_logprobs=True``, ``mt_token_logprobs``.

How it runs:

* The source version is streamed in chunks (``read_chunk`` examples), so memory stays bounded.
* Texts already in the translation cache (table ``translate_cache``, keyed by model signature,
  decoding parameters, languages and source text) are not translated again; the rest are
  tokenised, cut into the batches CTranslate2 would make (longest first, ``max_batch_tokens``
  source tokens each) and submitted asynchronously, most expensive batch first, the last chunk
  ending in small batches so parallel workers finish together (:mod:`workbench.batching`).
  The next chunk is tokenised and queued while the current one computes.
* Results go to the cache in short write transactions every ``flush_every`` sentences, so a
  killed run restarts where it stopped; the version itself is written in one transaction at the
  end (so a killed run leaves no partial version).
* Inputs longer than the model's limit are split at sentence boundaries (then clauses, words)
  and the parts' translations rejoined; ``meta["mt_split"]`` records the source and target
  character ranges of every part. With ``split_long=False`` they are an :class:`InputError`.
  Nothing is ever truncated.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from workbench import mtcache
from workbench.batching import plan_batches
from workbench.errors import ConfigError, InputError, ModelError
from workbench.languages import short_code
from workbench.models import Model, load_model
from workbench.mtcache import CACHE_TABLE
from workbench.records import Example, tokenize
from workbench.segment import split_ranges
from workbench.signature import Signature
from workbench.store import Store, Version

if TYPE_CHECKING:
    from workbench.distributed import ExecutorOptions

__all__ = ["TranslateOptions", "Progress", "translate", "CACHE_TABLE", "engine_error"]

#: seconds between progress reports (chunk ends are always reported)
PROGRESS_INTERVAL = 0.2
_NO_SPACE_LANGS = {"zh", "ja", "th", "my", "km", "lo", "zho_Hans", "zho_Hant", "jpn_Jpan", "tha_Thai"}


@dataclass
class TranslateOptions:
    """Options of the translate stage (decoding parameters go into the signature and cache key).

    Attributes:
        device: ``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda``.
        device_index: GPU ids; one model replica per GPU.
        compute_type: ``auto`` (int8 on CPU, int8_float16 on GPU) or a CTranslate2 compute type.
        beam_size: beam width (1 = greedy).
        max_batch_tokens: tokens per batch (padding included); 0 = 1024 on CPU, 8192 on GPU.
        max_decoding_length: most target tokens per sentence (or part of a split sentence).
        min_decoding_length: fewest target tokens.
        length_penalty: exponent of the length normalisation in beam search.
        repetition_penalty: > 1 penalises repeated tokens.
        no_repeat_ngram_size: forbid repeating n-grams of this size (0: off).
        inter_threads: parallel batches; 0 = auto (CPU: one per core up to 4 cores, e.g. 2x1 on
            2 cores, which beats 1x2 by ~1.6x; GPU: one per device).
        intra_threads: threads per batch; 0 = auto.
        split_long: split inputs over the model limit at sentence boundaries (else an error).
        token_logprobs: also store per-token log-probs (one extra scoring pass, ~10-20% slower).
        read_chunk: source examples read, sorted and queued at a time (bounds memory).
        flush_every: sentences between cache writes; with ``flush_seconds``, bounds what a
            killed run loses (each write is a short transaction).
        flush_seconds: most seconds between cache writes while sentences are pending.
        name: output corpus name; default ``{source corpus}.{tgt}`` (``{tgt}`` is substituted).
    """

    device: str = "auto"
    device_index: list[int] = field(default_factory=lambda: [0])
    compute_type: str = "auto"
    beam_size: int = 4
    max_batch_tokens: int = 0
    max_decoding_length: int = 256
    min_decoding_length: int = 1
    length_penalty: float = 1.0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    inter_threads: int = 0
    intra_threads: int = 0
    split_long: bool = True
    token_logprobs: bool = False
    read_chunk: int = 2000
    flush_every: int = 2000
    flush_seconds: float = 10.0
    name: str | None = None

    def decoding(self) -> dict[str, Any]:
        """The parameters that change the output (signature and cache key)."""
        out: dict[str, Any] = {
            "beam": self.beam_size, "maxlen": self.max_decoding_length,
            "minlen": self.min_decoding_length, "lp": self.length_penalty,
            "rp": self.repetition_penalty, "nrng": self.no_repeat_ngram_size}
        if self.token_logprobs:
            out["tlp"] = True
        return out


@dataclass
class Progress:
    """A progress report (passed to the ``progress`` callback; the CLI renders it)."""

    tgt_lang: str
    total: int
    done: int = 0
    cached: int = 0
    translated: int = 0
    split: int = 0
    src_tokens: int = 0
    tgt_tokens: int = 0
    elapsed: float = 0.0
    finished: bool = False
    version: str | None = None

    @property
    def sentences_per_s(self) -> float:
        return self.translated / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tgt_tokens / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.done == 0 or self.elapsed <= 0:
            return None
        return (self.total - self.done) * self.elapsed / self.done


def resolve_device(options: TranslateOptions) -> tuple[str, str, int, int]:
    """(device, compute_type, inter_threads, intra_threads) after ``auto`` choices."""
    import ctranslate2

    device = options.device
    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"unknown device {device!r}", fix="use auto, cpu or cuda")
    if device == "cuda":
        n_gpus = ctranslate2.get_cuda_device_count()
        if n_gpus == 0:
            raise ConfigError("device cuda asked for but no CUDA device is visible",
                              fix="use --device cpu or auto")
        bad = [i for i in options.device_index if not 0 <= i < n_gpus]
        if bad or not options.device_index:
            raise ConfigError(f"device index {bad or options.device_index} out of range: "
                              f"{n_gpus} CUDA device(s) visible (0-{n_gpus - 1})",
                              fix="pass --device-index with visible ids, e.g. 0 or 0,1; "
                                  "CUDA_VISIBLE_DEVICES renumbers them from 0")
    ct = options.compute_type
    if ct == "auto":
        ct = "int8" if device == "cpu" else "int8_float16"
    supported = ctranslate2.get_supported_compute_types(device, options.device_index[0])
    if ct not in supported and ct != "default":
        raise ConfigError(f"compute type {ct!r} is not supported on {device}",
                          fix=f"use one of {', '.join(sorted(supported))}")
    inter, intra = options.inter_threads, options.intra_threads
    if device == "cpu":
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if not inter and not intra:
            intra = 1 if cores <= 4 else 2 if cores <= 16 else 4
            inter = max(1, cores // intra)
        elif not inter:
            inter = max(1, cores // intra)
        elif not intra:
            intra = max(1, cores // inter)
    else:
        inter, intra = inter or 1, intra or 1
    return device, ct, inter, intra


def parallel_workers(device: str, inter: int, device_index: Sequence[int]) -> int:
    """Batches CTranslate2 computes at the same time: ``inter_threads`` per device."""
    return inter * (len(device_index) if device == "cuda" else 1)


def _load_translator(model: Model, device: str, compute_type: str, device_index: list[int],
                     inter: int, intra: int) -> Any:
    import ctranslate2

    return ctranslate2.Translator(str(model.path), device=device, device_index=device_index,
                                  compute_type=compute_type, inter_threads=inter,
                                  intra_threads=intra, max_queued_batches=-1)


def engine_error(exc: RuntimeError, device: str) -> ModelError | RuntimeError:
    """A :class:`ModelError` with a fix for CTranslate2 failures users can act on (a CUDA library
    that cannot be loaded, GPU memory); other errors unchanged."""
    msg = str(exc)
    if "libcublas" in msg or "libcudnn" in msg:
        return ModelError(
            f"CTranslate2 cannot run on {device}: {msg}", where=f"device {device}",
            fix="CTranslate2 4.x CUDA builds need CUDA 12 cuBLAS (libcublas.so.12): pip install "
                "nvidia-cublas-cu12 and add its lib folder to LD_LIBRARY_PATH, or use --device cpu")
    if "out of memory" in msg.lower():
        return ModelError(f"CTranslate2 ran out of memory on {device}: {msg}", where=f"device {device}",
                          fix="lower --max-batch-tokens (or --beam-size)")
    return exc


# -- the stage -------------------------------------------------------------------------------------
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
    cached: dict[str, dict[str, Any]]
    units: list[_Unit]
    parts: list[tuple[_Unit, int]]
    futures: list[Any]
    sources: list[list[str]]
    per_key: dict[str, int]
    ready: int


class _Run:
    """Translates one source version into one target language (a generator of batches)."""

    def __init__(self, *, store: Store, source: Version, model: Model, translator: Any,
                 options: TranslateOptions, src_lang: str, tgt_lang: str, model_key: str,
                 progress: Callable[[Progress], None] | None, device: str, workers: int = 1):
        self.store, self.source, self.model, self.tr = store, source, model, translator
        self.o, self.src_lang, self.tgt_lang = options, src_lang, tgt_lang
        fam = model.family
        self.src_tok = fam.token(src_lang, "source")
        self.tgt_tok = fam.token(tgt_lang, "target")
        self.prefix = fam.prefix(self.tgt_tok)
        self.model_key = model_key
        self.params_key = json.dumps(options.decoding(), sort_keys=True)
        self.batch_tokens = options.max_batch_tokens or (1024 if device == "cpu" else 8192)
        self.limit = model.max_input_length
        self.joiner = "" if tgt_lang in _NO_SPACE_LANGS else " "
        self.inflight: dict[str, _Unit] = {}
        self.pending_rows: list[dict[str, Any]] = []
        self.pending_index: dict[str, dict[str, Any]] = {}
        self.stats = Progress(tgt_lang, total=source.n_examples)
        self.t0 = time.monotonic()
        self.last_report = 0.0
        self.last_flush = time.monotonic()
        self.progress = progress
        self.device = device
        self.workers = workers

    # -- cache ---------------------------------------------------------------------------------
    def _lookup(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return mtcache.lookup(self.store, keys)

    def _flush(self, con: Any = None) -> None:
        """Write pending rows to the cache: in a short transaction of its own, or on ``con``
        (the version's transaction, for the last rows)."""
        if self.pending_rows:
            args = dict(model=self.model_key, params=self.params_key, src_lang=self.src_lang,
                        tgt_lang=self.tgt_lang)
            if con is None:
                mtcache.write(self.store, self.pending_rows, **args)
            else:
                mtcache.insert(con, self.pending_rows, **args)
            for r in self.pending_rows:
                self.inflight.pop(r["key"], None)
            self.pending_rows = []
            self.pending_index = {}
        self.last_flush = time.monotonic()

    def commit(self, con: Any, version_id: int) -> None:
        """``on_commit`` of the version: the last cache rows go in the version's transaction."""
        self._flush(con)

    # -- pipeline ------------------------------------------------------------------------------
    def _prepare(self, examples: list[Example], final: bool = True) -> _Chunk:
        """Look ``examples`` up in the cache and queue the rest on CTranslate2 (asynchronously).
        ``final``: no chunk will be queued behind this one (see :func:`plan_batches`)."""
        src, tgt = short_code(self.src_lang) or self.src_lang, short_code(self.tgt_lang) or self.tgt_lang
        keys = [mtcache.key(self.model_key, self.params_key, src, tgt, ex.text) for ex in examples]
        cached = self._lookup(keys)
        per_key: dict[str, int] = {}
        for key in keys:
            per_key[key] = per_key.get(key, 0) + 1
        units: list[_Unit] = []
        parts: list[tuple[_Unit, int]] = []
        sources: list[list[str]] = []
        fam, budget = self.model.family, self.limit - self.model.family.special_tokens
        seen: set[str] = set()
        for ex, key in zip(examples, keys, strict=True):
            if key in cached or key in self.inflight or key in seen:
                continue
            seen.add(key)
            pieces = self.model.encode(ex.text)
            if len(pieces) <= budget:
                unit = _Unit(key, ex.text, [(0, len(ex.text))])
                encoded = [pieces]
            elif not self.o.split_long:
                raise InputError(
                    f"source text has {len(pieces)} tokens, more than the model limit "
                    f"({self.limit} with special tokens)", where=f"example {ex.id}",
                    fix="allow splitting at sentence boundaries (drop --no-split) or shorten it")
            else:
                ranges = split_ranges(ex.text, lambda s: len(self.model.encode(s)) <= budget)
                ranges = [(a, b) for a, b in ranges if ex.text[a:b].strip()]
                unit = _Unit(key, ex.text, ranges)
                encoded = [self.model.encode(ex.text[a:b]) for a, b in ranges]
            unit.results = [None] * len(encoded)
            units.append(unit)
            self.inflight[key] = unit
            for i, pcs in enumerate(encoded):
                parts.append((unit, i))
                sources.append(fam.source(pcs, self.src_tok, self.tgt_tok))
        o = self.o
        plan = plan_batches([len(s) for s in sources], max_tokens=self.batch_tokens,
                            beam_size=o.beam_size, min_out=o.min_decoding_length,
                            max_out=o.max_decoding_length, workers=self.workers, final=final)
        order = [i for b in plan for i in b]
        parts = [parts[i] for i in order]
        sources = [sources[i] for i in order]
        futures: list[Any] = []
        lo = 0
        for b in plan:  # one call per planned batch: CTranslate2 keeps our batches and their order
            batch = sources[lo:lo + len(b)]
            lo += len(b)
            futures.extend(self.tr.translate_batch(
                batch, [self.prefix] * len(batch) if self.prefix else None,
                max_batch_size=0, asynchronous=True,
                beam_size=o.beam_size, length_penalty=o.length_penalty,
                repetition_penalty=o.repetition_penalty, no_repeat_ngram_size=o.no_repeat_ngram_size,
                max_decoding_length=o.max_decoding_length, min_decoding_length=o.min_decoding_length,
                max_input_length=0, return_scores=True))
        ready = len(examples) - sum(per_key[u.key] for u in units)  # cached or in flight
        return _Chunk(examples, keys, cached, units, parts, futures, sources, per_key, ready)

    def _unit_row(self, unit: _Unit) -> dict[str, Any]:
        texts, scores, n_tok, lps = [], 0.0, 0, []
        for text, score, n, tlp in unit.results:
            texts.append(text)
            scores += score
            n_tok += n
            if tlp is not None:
                lps.extend(tlp)
        split = None
        if len(unit.ranges) > 1:
            tgt, pos = [], 0
            for t in texts:
                tgt.append([pos, pos + len(t)])
                pos += len(t) + len(self.joiner)
            split = json.dumps({"source": [list(r) for r in unit.ranges], "target": tgt})
        return {"key": unit.key, "src_text": unit.text, "text": self.joiner.join(texts),
                "score": round(scores, 6), "avg_logprob": round(scores / max(n_tok, 1), 6),
                "n_tokens": n_tok, "token_logprobs": lps if self.o.token_logprobs else None,
                "split": split}

    def _finish(self, chunk: _Chunk) -> list[Example]:
        o, k = self.o, len(self.prefix or [])
        done_units: dict[str, dict[str, Any]] = {}
        remaining = {id(u): len(u.results) for u in chunk.units}
        since_flush = 0
        base_done = self.stats.done
        self.stats.done = base_done + chunk.ready
        for (unit, i), fut, src in zip(chunk.parts, chunk.futures, chunk.sources, strict=True):
            try:
                res = fut.result()
            except RuntimeError as exc:
                err = engine_error(exc, self.device)
                if err is exc:
                    raise
                raise err from exc
            hyp = res.hypotheses[0]
            finished = len(hyp) < o.max_decoding_length
            norm_len = len(hyp) + (1 if finished else 0)
            n = max(norm_len - k, 1)
            score = res.scores[0] * (norm_len ** o.length_penalty if o.length_penalty else 1.0)
            tlp = None
            if o.token_logprobs:
                sc = self.tr.score_batch([src], [hyp], max_input_length=0)[0]
                # scoring appends </s>: keep its log-prob only when the model generated it
                tlp = [round(x, 5) for x in sc.log_probs[k:len(sc.log_probs) - (0 if finished else 1)]]
                score, n = float(sum(tlp)), len(tlp)
            out = hyp[k:] if self.prefix and hyp[:k] == self.prefix else hyp
            unit.results[i] = (self.model.decode(out), score, n, tlp)
            self.stats.tgt_tokens += len(out)
            self.stats.src_tokens += len(src)
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
                    self._flush()
                    since_flush = 0
                self._report()
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
            out.append(self._example(ex, row))
        self.stats.done = base_done + len(chunk.examples)
        self._report(force=True)
        return out

    def _example(self, src: Example, row: dict[str, Any]) -> Example:
        meta: dict[str, Any] = {"src_text": src.text, "src_lang": self.src_lang,
                                "mt_score": row["score"], "mt_avg_logprob": row["avg_logprob"]}
        if row.get("token_logprobs") is not None:
            meta["mt_token_logprobs"] = list(row["token_logprobs"])
        if row.get("split"):
            meta["mt_split"] = json.loads(row["split"]) if isinstance(row["split"], str) else row["split"]
        text = row["text"]
        return Example(id=src.id, text=text, offsets=tokenize(text), spans=[], lang=self.tgt_lang,
                       split=src.split, meta=meta)

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress is None or (not force and now - self.last_report < PROGRESS_INTERVAL):
            return
        self.last_report = now
        self.stats.elapsed = now - self.t0
        self.progress(Progress(**asdict(self.stats)))

    def batches(self) -> Iterator[list[Example]]:
        pending: deque[_Chunk] = deque()
        try:
            read = 0
            for examples in self.store.iter_batches(self.source, self.o.read_chunk):
                read += len(examples)
                pending.append(self._prepare(examples, final=read >= self.source.n_examples))
                if len(pending) > 1:  # keep the next chunk queued while this one finishes
                    yield self._finish(pending.popleft())
            while pending:
                yield self._finish(pending.popleft())
        except BaseException:
            try:  # keep what was translated (Ctrl-C, a failing write): a rerun resumes from it
                self._flush()
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
            raise


def translate(
    ref: str | Version,
    *,
    model: str | Model,
    src_lang: str,
    tgt_langs: Sequence[str] | str,
    store: Store | None = None,
    options: TranslateOptions | None = None,
    progress: Callable[[Progress], None] | None = None,
    executor: ExecutorOptions | None = None,
) -> list[Version]:
    """Translate a stored version into each target language; one new version per language.

    ``model`` is a CTranslate2 directory, a converted Hugging Face id or a loaded
    :class:`~workbench.models.Model`. A version made with the same signature under the same
    name is returned as is; otherwise translations come from the cache where present.
    ``executor`` (:class:`~workbench.distributed.ExecutorOptions`) with ``executor="ray"``
    translates shards on Ray workers (the model directory must be readable at the same path
    by every worker); the version is the same as this process would make. ``None`` or
    ``"local"``: this process.
    """
    store = store or Store()
    options = options or TranslateOptions()
    tgts = [t.strip() for t in ([tgt_langs] if isinstance(tgt_langs, str) else tgt_langs) if t.strip()]
    if not tgts:
        raise ConfigError("no target language", fix="pass --tgt-lang de (or de,es,...)")
    source = store.resolve(ref)
    m = model if isinstance(model, Model) else load_model(model)
    for t in tgts:  # check every code before any work
        m.family.token(t, "target")
    m.family.token(src_lang, "source")
    sharded = executor is not None and executor.validate().executor != "local"
    if sharded:
        from workbench.distributed_stages import remote_device, translate_sharded

        device, ct, inter, intra = remote_device(options, executor)
    else:
        device, ct, inter, intra = resolve_device(options)
    model_key = f"{m.signature}|{m.family.name}|{ct}"
    translator = None
    out = []
    for tgt in tgts:
        sig = (Signature("translate").add("parent", source.ref).add("model", m.signature)
               .add("family", m.family.name).add("compute", ct).add("src", src_lang).add("tgt", tgt)
               .add("split", options.split_long))
        for key, value in options.decoding().items():
            sig.add(key, value)
        name = (options.name or f"{source.corpus}.{{tgt}}").replace("{tgt}", tgt)
        if len(tgts) > 1 and options.name and "{tgt}" not in options.name:
            name = f"{options.name}.{tgt}"
        existing = store.find(sig.key())
        if existing is not None and existing.corpus == name:
            if progress:
                progress(Progress(tgt, existing.n_examples, existing.n_examples,
                                  cached=existing.n_examples, finished=True, version=existing.ref))
            out.append(existing)
            continue
        params = {**{k: v for k, v in asdict(options).items() if k != "name"},
                  "model": m.name, "model_path": str(m.path), "family": m.family.name,
                  "device": device, "compute_type": ct, "inter_threads": inter,
                  "intra_threads": intra, "src_lang": src_lang, "tgt_lang": tgt}
        if sharded:
            out.append(translate_sharded(
                store=store, source=source, model=m, model_ref=str(m.path), src_lang=src_lang,
                tgt_lang=tgt, options=options, model_key=model_key, device=device, signature=sig,
                name=name, params=params, executor=executor, progress=progress))
            continue
        if translator is None:
            translator = _load_translator(m, device, ct, options.device_index, inter, intra)
        run = _Run(store=store, source=source, model=m, translator=translator, options=options,
                   src_lang=src_lang, tgt_lang=tgt, model_key=model_key, progress=progress,
                   device=device, workers=parallel_workers(device, inter, options.device_index))
        v = store.write_version(run.batches(), corpus=name, stage="translate", signature=sig,
                                parents=[source], params=params, lang=tgt,
                                batch_size=options.read_chunk,
                                on_commit=run.commit)
        if progress:
            final = Progress(**asdict(run.stats))
            final.elapsed, final.finished, final.version = time.monotonic() - run.t0, True, v.ref
            progress(final)
        out.append(v)
    return out
