"""The load stage: read CoNLL, JSONL (doccano, Label Studio, workbench), Parquet and Hugging Face
datasets into examples, and ingest them into the store as a version."""

from workbench.load.conll import read_conll, write_conll
from workbench.load.hf import label_names, read_hf, to_hf_dataset, to_hf_dataset_dict
from workbench.load.ingest import ingest, ingest_signature
from workbench.load.jsonl import read_jsonl, write_jsonl
from workbench.load.parquet import read_parquet, write_parquet
from workbench.load.registry import READERS, WRITERS, detect_format, read, write

__all__ = [
    "READERS", "WRITERS", "detect_format", "ingest", "ingest_signature", "label_names", "read",
    "read_conll", "read_hf", "read_jsonl", "read_parquet", "to_hf_dataset", "to_hf_dataset_dict",
    "write", "write_conll", "write_jsonl", "write_parquet",
]
