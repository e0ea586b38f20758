"""Shared fixtures: a temporary store, the sample data, the shared data sets (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
TEST_DATA = Path(__file__).resolve().parent / "data"

# one local Ray (2 CPUs) for the whole session, shared by every test module marked `ray`
from tests.fixtures.ray import _ray_session, ray_cluster  # noqa: E402, F401


def shared_dir() -> Path:
    """``$WORKBENCH_SHARED`` or ``../shared`` beside the repository root."""
    return Path(os.environ.get("WORKBENCH_SHARED", ROOT.parent / "shared"))


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data``; the test is skipped with a clear message when it is absent."""
    d = shared_dir() / "data"
    if not d.is_dir():
        pytest.skip(f"shared data not found at {d} (a user checkout has no ../shared; set WORKBENCH_SHARED)")
    return d


@pytest.fixture(autouse=True, scope="session")
def _user_cache_in_tmp(tmp_path_factory):
    """What the library keeps in the user's cache (the language identifier's decompressed model,
    ``workbench.core.langid``) goes to a directory of the session, not the developer's ~/.cache
    (subprocesses inherit it)."""
    if "WORKBENCH_CACHE" not in os.environ:
        os.environ["WORKBENCH_CACHE"] = str(tmp_path_factory.mktemp("user-cache"))
    yield


@pytest.fixture
def store(tmp_path: Path):
    from workbench.store.store import Store

    return Store(tmp_path / "wb.duckdb", lock_timeout=5)


@pytest.fixture
def sample_conll() -> Path:
    return DATA / "sample-en.conll"


def _stat(p: Path) -> tuple[float, int] | None:
    try:
        s = p.stat()
    except FileNotFoundError:
        return None
    return (s.st_mtime, s.st_size)


@pytest.fixture(autouse=True)
def _no_store_in_the_working_directory():
    """A test must not write ``workbench.duckdb`` in the working directory (the default store of
    every command, the developer's own): pass ``--db``/``db=`` or chdir to a tmp directory."""
    here = Path.cwd() / "workbench.duckdb"
    before = _stat(here)
    yield
    assert _stat(here) == before, f"the test wrote {here}: give it a store in tmp_path"
