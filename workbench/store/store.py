"""Versioned, immutable corpora in one DuckDB file.

* A version is written in one transaction: examples are first staged to a Parquet file next to
  the database (bounded memory, no lock held), then inserted with the version row in one short
  write transaction. A crash at any point leaves either the whole version or none of it.
* DuckDB lets one process write and, while it writes, no other process read. So the store holds
  the file only for the duration of one operation (attached to this process's in-memory DuckDB
  instance, then detached), and retries for a while when another process holds the lock
  (``lock_timeout``, env ``WORKBENCH_LOCK_TIMEOUT``).
* Examples and spans use native DuckDB types (LIST of STRUCT) so plain SQL works; see
  :data:`VIEWS` for the documented views.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from workbench.core.arrow import (
    EXAMPLE_SCHEMA,
    examples_from_arrow,
    examples_to_arrow,
    numeric,
)
from workbench.core.errors import InputError, RefError, StoreError, StoreWarning
from workbench.core.records import Example
from workbench.core.signature import Signature
from workbench.store.engine import ENGINE, Busy, cannot_open, lock_holder, locked_error, quote
from workbench.store.inspect import inspect
from workbench.store.schema import NotAStore, ensure_schema, has_table

if TYPE_CHECKING:
    import datasets
    import polars as pl

__all__ = ["Store", "Version", "default_db_path", "EXAMPLE_SCHEMA", "FILTER_PREFIX", "STAGING_PREFIXES",
           "clean_stale_dirs", "stale_prefix"]

#: seconds between two "waiting for the store lock" reports
WAIT_REPORT_SECONDS = 10.0
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")


def default_db_path() -> Path:
    """``$WORKBENCH_DB`` or ``workbench.duckdb`` in the working directory."""
    return Path(os.environ.get("WORKBENCH_DB", "workbench.duckdb"))


@dataclass(frozen=True)
class Version:
    """One committed, immutable version of a corpus."""

    id: int
    corpus: str
    number: int
    stage: str
    parents: list[int]
    signature: str
    signature_key: str
    params: dict[str, Any]
    lang: str | None
    n_examples: int
    n_spans: int
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.corpus}@{self.number}"


def _version_from_row(row: Sequence[Any]) -> Version:
    (vid, corpus, number, stage, parents, sig, key, params, lang, n_ex, n_sp, created) = row
    return Version(
        vid, corpus, number, stage, list(parents or []), sig, key,
        json.loads(params) if isinstance(params, str) else (params or {}),
        lang, n_ex, n_sp, created,
    )


_EXAMPLE_COLS = "idx, id, split, lang, text, offsets, spans, outcomes, meta::VARCHAR AS meta"
_FIELDS = {f: f for f in ("split", "lang", "text", "offsets", "spans", "outcomes", "meta")}
_VERSION_COLS = (
    "id, corpus, number, stage, parents, signature, signature_key, params, lang, "
    "n_examples, n_spans, created_at"
)


@dataclass
class Store:
    """A DuckDB file of versioned corpora.

    Args:
        path: database file; default :func:`default_db_path`.
        lock_timeout: seconds to keep retrying while another process holds the file
            (env ``WORKBENCH_LOCK_TIMEOUT``, default 30).
        memory_limit: DuckDB memory limit of write connections (env ``WORKBENCH_DUCKDB_MEMORY``,
            default ``128MB``): a large insert then evicts or spills instead of growing the
            process with the corpus. Read connections keep DuckDB's default.
        init: add the workbench tables to a DuckDB database that holds other tables (without
            it such a file is refused, so a user's own database is never written into).
        commit_timeout: seconds a stage's final commit waits for the lock (env
            ``WORKBENCH_COMMIT_TIMEOUT``; default: without limit, so computed work is never lost
            to a long read in another process).
        on_wait: called with a message every :data:`WAIT_REPORT_SECONDS` while waiting for the lock.
    """

    path: Path = field(default_factory=default_db_path)
    lock_timeout: float = field(
        default_factory=lambda: float(os.environ.get("WORKBENCH_LOCK_TIMEOUT", "30"))
    )
    memory_limit: str = field(
        default_factory=lambda: os.environ.get("WORKBENCH_DUCKDB_MEMORY", "128MB")
    )
    init: bool = False
    commit_timeout: float = field(
        default_factory=lambda: float(os.environ.get("WORKBENCH_COMMIT_TIMEOUT", "inf"))
    )
    on_wait: Callable[[str], None] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    # -- connections ---------------------------------------------------------------------------
    @contextmanager
    def connect(self, *, read_only: bool = True,
                timeout: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection held for one operation; retries while another process holds the lock.

        The file is attached to this process's DuckDB instance for the operation and detached
        after it (which releases the file lock), so an operation does not pay for starting a
        DuckDB instance (``bench/store_ops.py``). Operations that overlap in this process
        (a read inside ``on_commit``, another thread) share the attachment, each on its own
        cursor; a read-write attachment serves reads too.
        """
        if read_only and not self.path.exists():
            raise StoreError(
                f"no corpus store at {self.path}",
                fix="ingest a corpus first (workbench ingest PATH --name NAME), or pass --db / "
                "set WORKBENCH_DB to the right file",
            )
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        key = str(self.path.resolve())
        limit = self.lock_timeout if timeout is None else timeout
        start = time.monotonic()
        deadline = start + limit
        delay = 0.05
        busy = False
        next_report = start + WAIT_REPORT_SECONDS
        while True:
            try:
                inst, att, fresh = ENGINE.attach(key, read_only)
                break
            except duckdb.IOException as exc:
                msg = str(exc)
                if "lock" not in msg.lower():
                    raise cannot_open(self.path, msg) from None
            except Busy as exc:
                if exc.own_thread:  # waiting cannot help: this thread holds the read
                    raise StoreError(f"cannot write {self.path} inside an unfinished read of it",
                                     fix="finish reading first (e.g. list(store.examples(ref))), "
                                     "then write") from None
                msg, busy = str(exc), True
            except duckdb.Error as exc:
                raise cannot_open(self.path, exc) from None
            now = time.monotonic()
            if now >= deadline:
                raise locked_error(self.path, msg, limit, busy) from None
            if self.on_wait is not None and now >= next_report:
                self.on_wait(f"waiting for the store lock held by {lock_holder(msg, busy)} "
                             f"({now - start:.0f} s)")
                next_report = now + WAIT_REPORT_SECONDS
            time.sleep(min(delay, max(deadline - now, 0.01)))
            delay = min(delay * 1.5, 0.5)
        try:
            con = inst.cursor()
        except BaseException:
            ENGINE.release(key)
            raise
        try:
            con.execute(f"USE {att.alias}")
            if not att.writable:  # reads get DuckDB's default limit, as before
                con.execute("RESET memory_limit")
            if not read_only:
                try:
                    con.execute(f"SET memory_limit = '{self.memory_limit}'")
                except duckdb.Error as exc:
                    raise StoreError(f"bad memory limit {self.memory_limit!r}: {exc}",
                                     fix="set WORKBENCH_DUCKDB_MEMORY to a size like 256MB") from None
                try:  # where DuckDB spills (as it would for the file opened on its own)
                    con.execute(f"SET temp_directory = {quote(key + '.tmp')}")
                except duckdb.Error:  # the current one is in use by another operation: keep it
                    pass
                if fresh:
                    try:
                        ensure_schema(con, adopt=self.init)
                    except NotAStore as exc:
                        raise StoreError(
                            f"{self.path} is a DuckDB database but not a workbench store (it holds "
                            f"{exc}); nothing was written to it", where=str(self.path),
                            fix="choose another --db, or pass --init to add the workbench tables to "
                                "this database") from None
            yield con
        finally:
            try:
                con.close()
            finally:
                _release(key, self.path, read_only)

    # -- versions ------------------------------------------------------------------------------
    def versions(self, corpus: str | None = None) -> list[Version]:
        """All committed versions (of one corpus), oldest first."""
        if not self.path.exists():
            return []
        with self.connect() as con:
            if not has_table(con, "versions"):
                return []
            q = f"SELECT {_VERSION_COLS} FROM versions"
            args: list[Any] = []
            if corpus is not None:
                q += " WHERE corpus = ?"
                args.append(corpus)
            rows = con.execute(q + " ORDER BY id", args).fetchall()
        return [_version_from_row(r) for r in rows]

    def resolve(self, ref: str | Version) -> Version:
        """The version a ref names: ``corpus`` (latest) or ``corpus@N``."""
        if isinstance(ref, Version):
            return ref
        corpus, at, num = ref.partition("@")
        if at and not num.isdigit():
            raise RefError(f"bad ref {ref!r}", fix="write NAME or NAME@NUMBER, e.g. conll-en@2")
        with self.connect() as con:
            if not has_table(con, "versions"):
                raise RefError(f"no version {ref!r}: the store is empty", fix="ingest a corpus first")
            if num:
                if not num.isdigit():
                    raise RefError(f"bad ref {ref!r}", fix="write NAME or NAME@NUMBER, e.g. conll-en@2")
                row = con.execute(
                    f"SELECT {_VERSION_COLS} FROM versions WHERE corpus=? AND number=?",
                    [corpus, int(num)],
                ).fetchone()
            else:
                row = con.execute(
                    f"SELECT {_VERSION_COLS} FROM versions WHERE corpus=? ORDER BY number DESC LIMIT 1",
                    [corpus],
                ).fetchone()
            if row is None:
                names = [r[0] for r in con.execute(
                    "SELECT DISTINCT corpus || '@' || max(number) OVER (PARTITION BY corpus) "
                    "FROM versions").fetchall()]
        if row is None:
            raise RefError(
                f"no version {ref!r}",
                fix=f"stored corpora: {', '.join(sorted(names)) or 'none'} (workbench versions)",
            )
        return _version_from_row(row)

    def find(self, signature_key: str) -> Version | None:
        """The newest version made with exactly this signature, if any (stages use it to skip)."""
        if not self.path.exists():
            return None
        with self.connect() as con:
            if not has_table(con, "versions"):
                return None
            row = con.execute(
                f"SELECT {_VERSION_COLS} FROM versions WHERE signature_key=? ORDER BY id DESC LIMIT 1",
                [signature_key],
            ).fetchone()
        return _version_from_row(row) if row else None

    # -- reading -------------------------------------------------------------------------------
    def iter_batches(self, ref: str | Version, batch_size: int = 2000, *,
                     fields: Sequence[str] | None = None) -> Iterator[list[Example]]:
        """Examples of a version in order, ``batch_size`` at a time.

        Each batch is read with its own short connection, so a long consumer never blocks
        writers in other processes. ``fields``: see :meth:`batch`.
        """
        v = self.resolve(ref)
        for lo in range(0, v.n_examples, batch_size):
            yield self.batch(v, lo, lo + batch_size, fields=fields)

    def batch(self, ref: str | Version, lo: int, hi: int, *,
              fields: Sequence[str] | None = None) -> list[Example]:
        """The examples ``lo`` to ``hi`` (positions, ``hi`` excluded) of a version. ``fields``:
        the :class:`Example` fields to read besides ``id`` (``split``, ``lang``, ``text``,
        ``offsets``, ``spans``, ``outcomes``, ``meta``); the others are left empty (a stage
        that needs only the texts does not pay for converting the rest). ``None``: all."""
        v = self.resolve(ref)
        cols = _EXAMPLE_COLS if fields is None else ", ".join(
            ["idx", "id", *("meta::VARCHAR AS meta" if f == "meta" else _FIELDS[f] for f in fields)])
        with self.connect() as con:
            tbl = con.sql(f"SELECT {cols} FROM examples WHERE version_id=? AND idx>=? AND idx<? ORDER BY idx",
                          params=[v.id, lo, hi]).to_arrow_table()
        return examples_from_arrow(tbl)

    def examples_by_id(self, ref: str | Version, ids: Sequence[str]) -> dict[str, Example]:
        """The examples of a version with these ids (those it has), by id."""
        v = self.resolve(ref)
        if not ids:
            return {}
        with self.connect() as con:
            tbl = con.sql(f"SELECT {_EXAMPLE_COLS} FROM examples WHERE version_id=? AND list_contains(?, id) "
                          "ORDER BY idx", params=[v.id, list(ids)]).to_arrow_table()
        return {ex.id: ex for ex in examples_from_arrow(tbl)}

    def examples(self, ref: str | Version, batch_size: int = 2000) -> Iterator[Example]:
        """Examples of a version in order (streamed)."""
        for batch in self.iter_batches(ref, batch_size):
            yield from batch

    def to_arrow(self, ref: str | Version) -> pa.Table:
        """The version as an Arrow table in :data:`EXAMPLE_SCHEMA`."""
        v = self.resolve(ref)
        with self.connect() as con:
            tbl = con.sql(
                f"SELECT {_EXAMPLE_COLS} FROM examples WHERE version_id=? ORDER BY idx",
                params=[v.id],
            ).to_arrow_table()
        return tbl.cast(EXAMPLE_SCHEMA)

    def to_polars(self, ref: str | Version) -> pl.DataFrame:
        """The version as a polars DataFrame (from Arrow, zero-copy where possible)."""
        import polars as pl

        return pl.from_arrow(self.to_arrow(ref))  # type: ignore[return-value]

    def to_dataset(self, ref: str | Version) -> datasets.Dataset:
        """The version as a ``datasets.Dataset`` in the store's schema (Arrow-backed)."""
        import datasets

        return datasets.Dataset(self.to_arrow(ref))

    def sql(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run read-only inspection SQL (one or more queries; the last one's result) where it
        cannot write anything: :mod:`workbench.store.inspect`."""
        return inspect(self.path, query, params, lock_timeout=self.lock_timeout)

    # -- writing -------------------------------------------------------------------------------
    def write_version(
        self,
        examples: Iterable[Example] | Iterable[Sequence[Example]] | Iterable[pa.Table],
        *,
        corpus: str,
        stage: str,
        signature: Signature | str,
        parents: Sequence[Version | int] = (),
        params: dict[str, Any] | None = None,
        lang: str | None | Callable[[], str | None] = None,
        batch_size: int = 2000,
        validate: bool = True,
        on_commit: Callable[[duckdb.DuckDBPyConnection, int], None] | None = None,
        progress: Callable[[int], None] | None = None,
        reuse: bool = False,
    ) -> Version:
        """Write a new immutable version of ``corpus`` and return it.

        ``examples`` is streamed (examples, batches of examples, or Arrow tables in
        :data:`EXAMPLE_SCHEMA`, whose ``idx`` is renumbered and which are not validated: a stage
        that builds them column by column answers for them) into a staging Parquet file
        next to the database, holding no lock; duplicate ids are looked for in the staged file;
        then the version is inserted in one short write transaction. ``on_commit(con,
        version_id)`` runs inside that transaction, for stages that write side tables (filter
        decisions, cache). ``progress(n)`` is called with the number of examples staged so far.
        Duplicate example ids and invalid examples raise :class:`InputError`; nothing is written.
        With ``reuse``, a version of ``corpus`` with the same signature committed meanwhile (by
        another process running the same stage) is returned instead of a second one.
        """
        if not _NAME_RE.match(corpus):
            raise InputError(
                f"bad corpus name {corpus!r}",
                fix="use letters, digits, '.', '_' and '-', starting with a letter or digit",
            )
        sig = signature.format() if isinstance(signature, Signature) else str(signature)
        key = signature.key() if isinstance(signature, Signature) else Signature(sig).key()
        parent_ids = [p.id if isinstance(p, Version) else int(p) for p in parents]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            clean_stale_dirs(self.path.parent, _STAGE_PREFIX)
            with tempfile.TemporaryDirectory(prefix=stale_prefix(_STAGE_PREFIX),
                                             dir=self.path.parent) as tmp:
                staged = Path(tmp) / "examples.parquet"
                n_ex, n_sp = _stage(examples, staged, batch_size=batch_size, validate=validate,
                                    progress=progress)
                _check_unique_ids(staged)
                if callable(lang):  # known once the examples are read (ingest: their one language)
                    lang = lang()
                number = self._commit(staged, corpus, stage, parent_ids, sig, key, params, lang,
                                      n_ex, n_sp, on_commit, reuse)
        except OSError as exc:
            what = f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
            raise StoreError(f"cannot write the store: {what}", where=str(self.path),
                             fix="check that the directory is writable and the disk has space") from None
        except duckdb.Error as exc:
            raise StoreError(f"cannot write the store: {exc}", where=str(self.path),
                             fix="check that the directory is writable and the disk has space") from None
        return self.resolve(f"{corpus}@{number}")

    def _commit(self, staged: Path, corpus: str, stage: str, parent_ids: list[int], sig: str, key: str,
                params: dict[str, Any] | None, lang: str | None, n_ex: int, n_sp: int,
                on_commit: Callable[[duckdb.DuckDBPyConnection, int], None] | None,
                reuse: bool = False) -> int:
        """Insert a staged version in one transaction; returns its number (with ``reuse``, that
        of a version with the same corpus and signature already there, inserting nothing)."""
        with self.connect(read_only=False, timeout=self.commit_timeout) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                if reuse:  # decided inside the write transaction: two runs at once make one version
                    same = con.execute("SELECT number FROM versions WHERE corpus=? AND signature_key=? "
                                       "ORDER BY id DESC LIMIT 1", [corpus, key]).fetchall()
                    if same:
                        con.execute("ROLLBACK")
                        return int(same[0][0])
                vid = con.execute("SELECT nextval('version_ids')").fetchone()[0]  # type: ignore[index]
                number = con.execute(
                    "SELECT coalesce(max(number), 0) + 1 FROM versions WHERE corpus=?", [corpus]
                ).fetchone()[0]  # type: ignore[index]
                con.execute(
                    "INSERT INTO examples SELECT ? AS version_id, idx, id, split, lang, text, "
                    "offsets, spans, outcomes, meta::JSON FROM read_parquet(?)",
                    [vid, str(staged)],
                )
                con.execute(
                    f"INSERT INTO versions ({_VERSION_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    [vid, corpus, number, stage, parent_ids, sig, key,
                     json.dumps(params or {}, default=str), lang, n_ex, n_sp,
                     datetime.now()],
                )
                if on_commit is not None:
                    on_commit(con, vid)
                con.execute("COMMIT")
            except BaseException:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:  # the transaction is already gone (e.g. disk full)
                    pass
                raise
        return int(number)


_STAGE_PREFIX = ".wb-stage-"


def _release(key: str, path: Path, read_only: bool) -> None:
    """Detach the file; a checkpoint that fails then (a full disk) loses nothing committed.

    DuckDB writes a commit to the write-ahead log (``<db>.wal``, synced) before it returns, and
    checkpoints the log into the database file when the file is detached. A failed checkpoint
    leaves the committed transactions in the log, where every later open (read or write) finds
    them, and the next checkpoint with space moves them into the file. So the operation that
    committed succeeded: say so with a warning, never report it failed (a retry would store
    the version twice)."""
    try:
        ENGINE.release(key)
    except duckdb.Error as exc:
        if read_only or "checkpoint" not in str(exc).lower():
            raise
        warnings.warn(StoreWarning(
            f"{path}: written, but the store file could not be checkpointed ({_first_line(exc)}); "
            f"the write is kept in {path}.wal, which every later open reads; free disk space, and "
            "the next write moves it into the store file"), stacklevel=4)


def _first_line(exc: BaseException) -> str:
    lines = [x for x in str(exc).splitlines() if x.strip()]
    orig = [x for x in lines if "Original error" in x]
    return (orig[0].split("Original error:", 1)[1] if orig else lines[0] if lines else "").strip()


def _check_unique_ids(staged: Path) -> None:
    """Raise :class:`InputError` naming duplicate ids (and their input lines, when known)."""
    with ENGINE.scratch() as con:
        con.execute("SET memory_limit = '64MB'")
        try:
            con.execute(f"SET temp_directory = {quote(str(staged.parent / 'tmp'))}")
        except duckdb.Error:  # in use by another operation of this process: keep it
            pass
        ids = [r[0] for r in con.execute(
            "SELECT id FROM read_parquet(?) GROUP BY id HAVING count(*) > 1 LIMIT 3", [str(staged)]
        ).fetchall()]
        dup = con.execute(
            "SELECT id, count(*), list(json_extract_string(meta, '$.line') ORDER BY idx) "
            "FROM read_parquet(?) WHERE list_contains(?, id) GROUP BY id ORDER BY min(idx)",
            [str(staged), ids],
        ).fetchall() if ids else []
    if dup:
        parts = []
        for ex_id, n, lines in dup:
            where = [x for x in lines if x is not None]
            parts.append(f"{ex_id!r} ({n}x" + (f", lines {', '.join(where)})" if where else ")"))
        raise InputError(
            f"duplicate example ids: {'; '.join(parts)}",
            where=f"example {dup[0][0]}",
            fix="give every example a unique id (e.g. # sent_id = ... in CoNLL, 'id' in JSONL)",
        )


def _stage(
    examples: Iterable[Example] | Iterable[Sequence[Example]] | Iterable[pa.Table],
    path: Path,
    *,
    batch_size: int,
    validate: bool,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    n_ex = n_sp = 0
    buf: list[Example] = []
    with pq.ParquetWriter(path, EXAMPLE_SCHEMA) as writer:

        def flush() -> None:
            nonlocal n_ex
            if buf:
                writer.write_table(examples_to_arrow(buf, n_ex))
                n_ex += len(buf)
                buf.clear()
                if progress is not None:
                    progress(n_ex)

        for item in examples:
            if isinstance(item, pa.Table):  # built by the stage in the schema: written as it is
                flush()
                writer.write_table(item.set_column(0, "idx", numeric(range(n_ex, n_ex + item.num_rows),
                                                                      pa.int64())))
                n_ex += item.num_rows
                n_sp += len(item.column("spans").combine_chunks().flatten())
                if progress is not None:
                    progress(n_ex)
                continue
            batch = [item] if isinstance(item, Example) else item
            for ex in batch:
                if validate:
                    ex.validate()
                n_sp += len(ex.spans)
                buf.append(ex)
            if len(buf) >= batch_size:
                flush()
        flush()
    return n_ex, n_sp


def stale_prefix(prefix: str) -> str:
    """``prefix`` + ``{pid}@{host}-``: temporary directories name the process that owns them."""
    import socket

    return f"{prefix}{os.getpid()}@{socket.gethostname()}-"


#: the filter stage's temporary directories (its decisions, staged)
FILTER_PREFIX = ".wb-filter-"
#: prefixes of the temporary directories stages make beside the store (each named by its process)
STAGING_PREFIXES = (_STAGE_PREFIX, FILTER_PREFIX)


def clean_stale_dirs(parent: Path, prefix: str) -> None:
    """Remove temporary directories ``prefix{pid}@{host}-*`` in ``parent`` left by dead processes
    of this host (a SIGKILLed stage cannot clean up after itself)."""
    import shutil
    import socket

    host = socket.gethostname()
    try:
        entries = list(parent.glob(f"{prefix}*@*"))
    except OSError:
        return
    for d in entries:
        owner, _, rest = d.name[len(prefix):].partition("@")
        if not owner.isdigit() or not rest.startswith(f"{host}-"):
            continue
        try:
            os.kill(int(owner), 0)
            continue  # still running
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (PermissionError, OSError):
            continue
