"""The store's DuckDB instance: store files are attached to one in-memory instance per process
for the duration of an operation, then detached (which releases the file lock).

Starting a DuckDB instance costs much more than attaching a file to a running one (it builds
its catalog), and a stage makes many short store operations (reads, cache writes, the commit);
``bench/store_ops.py`` measures both.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb

from workbench.core.errors import StoreError, StoreLockedError

__all__ = ["ENGINE", "Busy", "quote"]


class Busy(Exception):
    """The file is attached read-only in this process while a write is wanted: retried when
    another thread holds it (``own_thread`` False), hopeless when this thread does."""

    def __init__(self, message: str, own_thread: bool):
        super().__init__(message)
        self.own_thread = own_thread


@dataclass
class _Attachment:
    alias: str
    writable: bool
    threads: dict[int, int] = field(default_factory=dict)  # thread id -> operations open


class _Engine:
    """This process's in-memory DuckDB instance, to which store files are attached per operation.

    Attaching a file to a running instance is far cheaper than starting one
    (``bench/store_ops.py`` measures both). The file lock is held only while the file is attached. A DuckDB instance
    does not survive ``fork`` (its threads stay behind): an idle instance is closed before
    ``os.fork`` and the child starts its own.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.con: duckdb.DuckDBPyConnection | None = None
        self.attached: dict[str, _Attachment] = {}
        self.scratch_users = 0
        self.count = 0
        self._orphans: list[duckdb.DuckDBPyConnection] = []  # a parent's, in a forked child
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(before=self._before_fork, after_in_child=self._after_fork_in_child)

    def _instance(self) -> duckdb.DuckDBPyConnection:
        if self.con is None:
            self.con = duckdb.connect(":memory:")
        return self.con

    def attach(self, key: str, read_only: bool) -> tuple[duckdb.DuckDBPyConnection, _Attachment, bool]:
        """(instance, attachment, newly attached) for the file ``key``; raises DuckDB's lock
        error or :class:`Busy` when it cannot be had now. Pair with :meth:`release`."""
        with self.lock:
            con = self._instance()
            me = threading.get_ident()
            att = self.attached.get(key)
            if att is not None:
                if att.writable or read_only:
                    att.threads[me] = att.threads.get(me, 0) + 1
                    return con, att, False
                mine = me in att.threads
                raise Busy("the file is open read-only in this process "
                           f"({'an unfinished read in this thread' if mine else 'another thread reads'})",
                           own_thread=mine)
            self.count += 1
            att = _Attachment(f"wb_store_{self.count}", writable=not read_only, threads={me: 1})
            mode = " (READ_ONLY)" if read_only else ""
            con.execute(f"ATTACH {quote(key)} AS {att.alias}{mode}")
            self.attached[key] = att
            return con, att, True

    def release(self, key: str) -> None:
        with self.lock:
            att = self.attached.get(key)
            if att is None or self.con is None:
                return
            me = threading.get_ident()
            att.threads[me] = att.threads.get(me, 1) - 1
            if att.threads[me] <= 0:
                del att.threads[me]
            if not att.threads:  # no operation of any thread left
                del self.attached[key]
                self.con.execute(f"DETACH {att.alias}")

    @contextmanager
    def scratch(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the instance for work on files outside any store (Parquet)."""
        with self.lock:
            cur = self._instance().cursor()
            self.scratch_users += 1
        try:
            yield cur
        finally:
            cur.close()
            with self.lock:
                self.scratch_users -= 1

    def _before_fork(self) -> None:
        if not self.lock.acquire(blocking=False):
            return  # another thread is attaching: the child will not use this instance
        try:
            if self.con is not None and not self.attached and not self.scratch_users:
                self.con.close()
                self.con = None
        finally:
            self.lock.release()

    def _after_fork_in_child(self) -> None:
        self.lock = threading.Lock()
        if self.con is not None:  # busy at the fork: never touch (or free) it here
            self._orphans.append(self.con)
        self.con, self.attached, self.scratch_users = None, {}, 0


ENGINE = _Engine()


def quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def lock_holder(msg: str, busy: bool = False) -> str:
    """Who holds the file lock, from DuckDB's message (``process 1234``) or what this process knows."""
    pid = re.search(r"PID (\d+)", msg)
    return f"process {pid.group(1)}" if pid else "this process" if busy else "another process"


def locked_error(path: object, msg: str, limit: float, busy: bool = False) -> StoreLockedError:
    """The error for a lock still held after ``limit`` seconds (store operations and inspection)."""
    return StoreLockedError(
        f"the DuckDB lock on {path} is held by {lock_holder(msg, busy)}; gave up after {limit:g}s "
        f"({msg.strip()})",
        fix="wait for the other workbench command to finish, or raise WORKBENCH_LOCK_TIMEOUT (seconds)")


def cannot_open(path: object, detail: object) -> StoreError:
    """The error for a file DuckDB cannot open for another reason than a lock."""
    return StoreError(f"cannot open {path}: {detail}", fix="is it a DuckDB file written by the workbench?")
