"""Staging of shard results (see :mod:`workbench.executors.run`): ``{location}/{key}/SHARD.parquet``
then ``SHARD.done``, on a local directory or any URL ``pyarrow.fs`` understands (``s3://``,
``gs://``, ``hdfs://``, ``file://``). Workers write here, never to the store; the driver reads the
shards back in order to commit them.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from workbench.core.arrow import EXAMPLE_SCHEMA

__all__ = ["Staging"]


class Staging:
    """Shard files under ``{staging}/{key}/``: ``SHARD.parquet`` then ``SHARD.done`` (JSON)."""

    def __init__(self, location: str | os.PathLike[str], key: str):
        import pyarrow.fs as pafs

        loc = str(location)
        self.location, self.key = loc, key
        if "://" in loc:
            self.fs, base = pafs.FileSystem.from_uri(loc)
        else:
            self.fs, base = pafs.LocalFileSystem(), str(Path(loc).resolve())
        self.local = isinstance(self.fs, pafs.LocalFileSystem)
        self.root = f"{base.rstrip('/')}/{key}"
        self.fs.create_dir(self.root, recursive=True)

    def __reduce__(self) -> tuple[Any, ...]:  # re-resolve the file system in each worker
        return (Staging, (self.location, self.key))

    def url(self, name: str = "") -> str:
        return f"{self.location.rstrip('/')}/{self.key}/{name}"

    def _put(self, path: str, write: Callable[[str], None]) -> None:
        if self.local:  # write beside, then rename: readers never see a partial file
            tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
            write(tmp)
            self.fs.move(tmp, path)
        else:  # object storage: one PUT on close is atomic
            write(path)

    def write(self, shard_id: str, table: pa.Table) -> int:
        path = f"{self.root}/{shard_id}.parquet"
        self._put(path, lambda p: pq.write_table(table, p, filesystem=self.fs))
        size = self.fs.get_file_info(path).size
        marker = json.dumps({"shard": shard_id, "rows": table.num_rows, "bytes": size}).encode()

        def write_marker(p: str) -> None:
            with self.fs.open_output_stream(p) as f:
                f.write(marker)

        self._put(f"{self.root}/{shard_id}.done", write_marker)
        return table.num_rows

    def completed(self) -> dict[str, int]:
        """Shard id -> rows for every shard whose marker matches its Parquet file."""
        import pyarrow.fs as pafs

        infos = self.fs.get_file_info(pafs.FileSelector(self.root, allow_not_found=True))
        sizes = {Path(i.path).name: i.size for i in infos if i.type == pafs.FileType.File}
        done = {}
        for name in sizes:
            if not name.endswith(".done"):
                continue
            sid = name[: -len(".done")]
            try:
                with self.fs.open_input_stream(f"{self.root}/{name}") as f:
                    m = json.loads(f.read())
            except (OSError, ValueError):
                continue
            if sizes.get(f"{sid}.parquet") == m.get("bytes"):
                done[sid] = int(m["rows"])
        return done

    def read(self, shard_id: str) -> pa.Table:
        return pq.read_table(f"{self.root}/{shard_id}.parquet", filesystem=self.fs,
                             schema=EXAMPLE_SCHEMA)

    def remove(self) -> None:
        try:
            self.fs.delete_dir(self.root)
        except (OSError, FileNotFoundError):
            pass
