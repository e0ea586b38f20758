"""The language identifier's decompressed model, kept in the user's cache: read back, it is the
same identifier py3langid loads itself; a damaged file, an unwritable cache or ``off`` fall back
to py3langid's own loading."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.core import langid

TEXTS = ["Das ist ein kleiner Test, der auf Deutsch geschrieben ist.", "This is plainly English text.",
         "Ceci est une phrase en français.", "Это предложение на русском языке.", "這是一個中文句子。", ""]


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """No identifier loaded in this process, the cache in ``tmp_path``."""
    monkeypatch.setattr(langid, "_SHARED", None)
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _own():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _same(a, b) -> None:
    for name in langid._ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert type(x) is type(y), name
        assert np.array_equal(np.asarray(x), np.asarray(y)), name
    assert [a.classify(t) for t in TEXTS] == [b.classify(t) for t in TEXTS]


def test_the_cached_model_is_the_same_identifier(fresh):
    first = langid.identifier()  # decompressed by py3langid, then kept
    path = langid.cache_path()
    assert path is not None and path.parent == fresh / "py3langid" and path.is_file()
    assert not list(path.parent.glob(".model-*"))  # no temporary file left
    langid._SHARED = None
    again = langid.identifier()  # read from the cache
    assert again is not first
    _same(again, _own())
    _same(first, again)


def test_a_damaged_cache_file_falls_back(fresh):
    langid.identifier()
    path = langid.cache_path()
    path.write_bytes(path.read_bytes()[: 1 << 20])  # cut short, as by a full disk
    langid._SHARED = None
    _same(langid.identifier(), _own())


def test_an_unwritable_cache_or_off_loads_as_before(fresh, monkeypatch):
    fresh.parent.joinpath("cache").write_text("a file where the folder should be")
    ident = langid.identifier()
    assert not langid.cache_path().exists()
    _same(ident, _own())
    monkeypatch.setenv("WORKBENCH_CACHE", "off")
    langid._SHARED = None
    assert langid.cache_path() is None
    _same(langid.identifier(), _own())
