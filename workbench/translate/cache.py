"""The translation cache: one row per (model, decoding parameters, languages, source text).

A side table of the store (``translate_cache``, declared in :mod:`workbench.store.schema`),
written in short transactions while a translation runs, so that a killed run resumes and a
repeated run is served from it. Query it with
``workbench sql "SELECT tgt_lang, count(*) FROM translate_cache GROUP BY ALL"``.
:class:`TranslationCache` is the object the translate engine is given.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from workbench.core.arrow import numeric, strings
from workbench.core.errors import StoreLockedError, StoreWarning
from workbench.store.schema import CACHE_TABLE, has_table
from workbench.store.store import Store

__all__ = ["CACHE_TABLE", "TranslationCache", "insert", "key", "lookup", "retry_at", "write"]



def key(model_key: str, params_key: str, src: str, tgt: str, text: str) -> str:
    h = hashlib.sha256()
    for p in (model_key, params_key, src, tgt, text):
        h.update(p.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


_LOOKUP_COLS = ("key", "text", "score", "avg_logprob", "n_tokens", "token_logprobs", "split")


def lookup(store: Store, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Cached rows for ``keys`` (those present), by key."""
    # the keys go as one list parameter, not an Arrow table: the first Arrow conversion of a
    # process imports pandas (pyarrow checks for it), which here would delay the first batch
    with store.connect() as con:
        if not has_table(con, CACHE_TABLE):
            return {}
        rows = con.execute(f"SELECT c.key, c.text, c.score, c.avg_logprob, c.n_tokens, c.token_logprobs, "
                           f"c.split::VARCHAR AS split FROM {CACHE_TABLE} c "
                           "WHERE c.key IN (SELECT unnest(?::VARCHAR[]))", [list(set(keys))]).fetchall()
    return {r[0]: dict(zip(_LOOKUP_COLS, r, strict=True)) for r in rows}


def insert(con: Any, rows: Sequence[dict[str, Any]], *, model: str, params: str, src_lang: str,
           tgt_lang: str) -> None:
    """Insert rows (``key, src_text, text, score, avg_logprob, n_tokens, token_logprobs,
    split``) on a write connection; existing keys are kept."""
    import pyarrow as pa

    def column(name: str) -> list[Any]:
        return [r[name] for r in rows]

    lps = column("token_logprobs")
    # built by the column builders of core.arrow, not pa.array (whose first call imports pandas);
    # the columns every row shares are constants of the statement
    tbl = pa.table({
        "key": strings(column("key")), "src_text": strings(column("src_text")), "text": strings(column("text")),
        "score": numeric(column("score"), pa.float64()),
        "avg_logprob": numeric(column("avg_logprob"), pa.float64()),
        "n_tokens": numeric(column("n_tokens"), pa.int32()),
        "token_logprobs": (pa.nulls(len(rows), pa.list_(pa.float64())) if all(x is None for x in lps)
                           else pa.array(lps, pa.list_(pa.float64()))),
        "split": strings(column("split"))})
    con.register("new_rows", tbl)
    con.execute(f"INSERT OR IGNORE INTO {CACHE_TABLE} SELECT key, ?, ?, ?, ?, src_text, text, score, "
                "avg_logprob, n_tokens, token_logprobs, split::JSON, ? FROM new_rows",
                [model, params, src_lang, tgt_lang, datetime.now()])
    con.unregister("new_rows")


#: seconds a cache write waits for the lock before it gives up (its rows stay pending for the next
#: flush): none, one try, so a held lock costs the translation nothing
FLUSH_LOCK_WAIT = 0.0

#: seconds before a cache write that could not be made is tried again: soon (a reader's lock is
#: often short), not a whole ``flush_seconds`` later (which would double what a kill loses)
FLUSH_RETRY_SECONDS = 0.25


def retry_at(flush_seconds: float) -> float:
    """The ``last_flush`` time (``time.monotonic()`` clock) that makes the next flush come
    :data:`FLUSH_RETRY_SECONDS` from now."""
    return time.monotonic() - flush_seconds + min(FLUSH_RETRY_SECONDS, flush_seconds)


def write(store: Store, rows: Sequence[dict[str, Any]], **kw: str) -> bool:
    """:func:`insert` in one short write transaction of its own; ``False`` when another process
    holds the lock (a long read): the caller keeps the rows and tries again later."""
    try:
        with store.connect(read_only=False, timeout=FLUSH_LOCK_WAIT) as con:
            insert(con, rows, **kw)
    except StoreLockedError:
        return False
    except (duckdb.Error, OSError) as exc:  # a full disk: the rows wait for the next flush
        warnings.warn(StoreWarning(
            f"{store.path}: the translation cache could not be written ({str(exc).splitlines()[0]}); "
            "the translations are kept in memory and written with the next flush or the final "
            "commit; free disk space, or a kill now loses them"), stacklevel=2)
        return False
    return True


@dataclass(frozen=True)
class TranslationCache:
    """The cache rows of one model, decoding parameters and language pair in ``store``.

    ``model`` and ``params`` are the keys the rows are recorded under (the model signature with
    family and compute type; the decoding parameters as JSON).
    """

    store: Store
    model: str
    params: str
    src_lang: str
    tgt_lang: str

    def lookup(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        return lookup(self.store, keys)

    def insert(self, con: Any, rows: Sequence[dict[str, Any]]) -> None:
        insert(con, rows, model=self.model, params=self.params, src_lang=self.src_lang,
               tgt_lang=self.tgt_lang)

    def write(self, rows: Sequence[dict[str, Any]]) -> bool:
        return write(self.store, rows, model=self.model, params=self.params, src_lang=self.src_lang,
              tgt_lang=self.tgt_lang)
