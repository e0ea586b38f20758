"""Fixtures of the load tests."""

from __future__ import annotations

import pytest

from workbench.load.ingest import ingest


@pytest.fixture
def seeded(store, sample_conll):
    """A store holding sample@1, and a function asserting nothing else was stored."""
    v1 = ingest(sample_conll, name="sample", store=store)
    before = list(store.examples(v1))

    def unchanged() -> None:
        assert [x.ref for x in store.versions()] == ["sample@1"]
        assert list(store.examples("sample@1")) == before
        assert not list(store.path.parent.glob(".wb-stage-*"))

    return unchanged
