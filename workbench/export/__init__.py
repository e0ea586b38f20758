"""The export stage: CoNLL, JSONL, Parquet, or the Hugging Face Hub layout with a dataset card; and
the upload of that layout to the Hub (:func:`push`)."""

from workbench.export.hub import HubExportOptions, export_hf
from workbench.export.push import push
from workbench.export.stage import EXPORTERS, export

__all__ = ["EXPORTERS", "HubExportOptions", "export", "export_hf", "push"]
