"""Readers fuzzed with hypothesis: random bytes and mutated valid files give examples that
validate or a clean InputError, never another exception; ingest stores all or nothing."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.errors import InputError, StoreError, WorkbenchError
from workbench.load import read, write
from workbench.load.ingest import ingest
from workbench.store.store import Store

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample-en.conll"
SETTINGS = settings(max_examples=int(os.environ.get("WB_FUZZ_EXAMPLES", "40")), deadline=None, derandomize=not os.environ.get("WB_FUZZ_RANDOM"),
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


_VALID: dict[str, bytes] = {}


def valid_files() -> dict[str, bytes]:
    """Valid files of each kind (8 sample sentences), built once (not a fixture, so that a failing
    case prints only its mutations)."""
    if _VALID:
        return _VALID
    import tempfile

    d = Path(tempfile.mkdtemp(prefix="wb-fuzz-"))
    exs = list(read(SAMPLE))[:8]
    out = {"conll": SAMPLE.read_bytes()[:1500]}
    for fmt in ("jsonl", "parquet"):
        p = d / f"x.{fmt}"
        write(exs, p, format=fmt)
        out[fmt] = p.read_bytes()
    out["doccano"] = "\n".join(json.dumps({"text": e.text, "label": [[s.start, s.end, s.label] for s in e.spans]})
                               for e in exs).encode()
    _VALID.update(out)
    return out


def _read_all(path: Path, fmt: str) -> None:
    """Read everything; only InputError may escape; what is read must validate."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for ex in read(path, format=fmt):
                ex.validate()
        except InputError:
            pass


mutation = st.tuples(st.sampled_from(["flip", "delete", "insert", "truncate", "dup"]),
                     st.floats(0, 1), st.floats(0, 1), st.binary(min_size=1, max_size=8))


def _mutate(data: bytes, muts: list[tuple[str, float, float, bytes]]) -> bytes:
    b = bytearray(data)
    for kind, x, y, blob in muts:
        if not b:
            break
        i = int(x * (len(b) - 1))
        j = min(len(b), i + 1 + int(y * 64))
        if kind == "flip":
            b[i] ^= blob[0] or 0xFF
        elif kind == "delete":
            del b[i:j]
        elif kind == "insert":
            b[i:i] = blob
        elif kind == "truncate":
            del b[i:]
        else:
            b[i:i] = b[i:j]
    return bytes(b)


@pytest.mark.parametrize("fmt", ["conll", "jsonl", "parquet"])
@SETTINGS
@given(data=st.binary(max_size=600))
def test_random_bytes(tmp_path: Path, fmt: str, data: bytes) -> None:
    p = tmp_path / f"rand.{fmt}"
    p.write_bytes(data)
    _read_all(p, fmt)


@pytest.mark.parametrize("kind", ["conll", "jsonl", "parquet", "doccano"])
@SETTINGS
@given(muts=st.lists(mutation, min_size=1, max_size=4))
def test_mutated_valid_files(tmp_path: Path, kind: str, muts) -> None:
    fmt = "jsonl" if kind == "doccano" else kind
    p = tmp_path / f"mut.{fmt}"
    p.write_bytes(_mutate(valid_files()[kind], muts))
    _read_all(p, fmt)


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(muts=st.lists(mutation, min_size=1, max_size=3), fmt=st.sampled_from(["conll", "jsonl", "parquet"]))
def test_ingest_of_mutated_files_stores_all_or_nothing(tmp_path_factory, muts, fmt) -> None:
    d = tmp_path_factory.mktemp("ing")
    store = Store(d / "wb.duckdb", lock_timeout=5)
    p = d / f"in.{fmt}"
    p.write_bytes(_mutate(valid_files()[fmt], muts))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            v = ingest(p, name="fz", lang="en", store=store, format=fmt)
        except (InputError, StoreError):
            assert store.versions() == []  # nothing half-written
            return
        except WorkbenchError as exc:  # pragma: no cover - any other typed error is a bug here
            pytest.fail(f"unexpected {type(exc).__name__}: {exc}")
    rows = store.sql("SELECT count(*) AS n, count(DISTINCT id) AS ids FROM examples WHERE version_id=?",
                     [v.id]).to_pylist()[0]
    assert rows == {"n": v.n_examples, "ids": v.n_examples}
