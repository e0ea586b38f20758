"""The store: versioned, immutable corpora in one DuckDB file, with provenance."""

from workbench.store.store import Store, Version, default_db_path

__all__ = ["Store", "Version", "default_db_path"]
