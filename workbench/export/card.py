"""The dataset card of a Hub export: YAML metadata ``datasets`` reads, and a text that says how
the corpus was made (lineage of signatures), what is in it (counts, per-label statistics,
projection outcomes), under which licence, and which methods to cite."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from workbench.store.lineage import ancestors
from workbench.store.store import Store, Version

__all__ = ["render_card", "parse_signature", "citations_for", "CITATIONS"]

#: method -> (pattern searched in the lineage's signatures, bibtex). Only the methods used are cited.
CITATIONS: dict[str, tuple[str, str]] = {
    "EasyProject (marker projection)": (r"\bmarkers?\.v\d|easyproject", """@inproceedings{chen-etal-2023-frustratingly,
  title = {Frustratingly Easy Label Projection for Cross-lingual Transfer},
  author = {Chen, Yang and Jiang, Chao and Ritter, Alan and Xu, Wei},
  booktitle = {Findings of the Association for Computational Linguistics: ACL 2023},
  year = {2023},
  publisher = {Association for Computational Linguistics},
  url = {https://aclanthology.org/2023.findings-acl.357}
}"""),
    "CODEC (constrained decoding projection)": (r"\bconstrained\.v\d|codec", """@inproceedings{le2024constrained,
  title = {Constrained Decoding for Cross-lingual Label Projection},
  author = {Le, Duong Minh and Chen, Yang and Ritter, Alan and Xu, Wei},
  booktitle = {The Twelfth International Conference on Learning Representations (ICLR)},
  year = {2024}
}"""),
    "eflomal (word alignment)": (r"eflomal", """@article{ostling-tiedemann-2016-efficient,
  title = {Efficient Word Alignment with {M}arkov {C}hain {M}onte {C}arlo},
  author = {{\\\"O}stling, Robert and Tiedemann, J{\\\"o}rg},
  journal = {The Prague Bulletin of Mathematical Linguistics},
  volume = {106},
  pages = {125--146},
  year = {2016}
}"""),
    "SimAlign (word alignment)": (r"simalign", """@inproceedings{jalili-sabet-etal-2020-simalign,
  title = {{S}im{A}lign: High Quality Word Alignments Without Parallel Training Data Using Static and Contextualized Embeddings},
  author = {Jalili Sabet, Masoud and Dufter, Philipp and Yvon, Fran{\\c{c}}ois and Sch{\\\"u}tze, Hinrich},
  booktitle = {Findings of the Association for Computational Linguistics: EMNLP 2020},
  year = {2020},
  pages = {1627--1643},
  url = {https://aclanthology.org/2020.findings-emnlp.147}
}"""),
    "NLLB-200 (translation model)": (r"nllb", """@article{nllb2022,
  title = {No Language Left Behind: Scaling Human-Centered Machine Translation},
  author = {{NLLB Team} and Costa-juss{\\`a}, Marta R. and others},
  journal = {arXiv preprint arXiv:2207.04672},
  year = {2022}
}"""),
    "OPUS-MT (translation model)": (r"opus-mt|marian", """@inproceedings{tiedemann-thottingal-2020-opus,
  title = {{OPUS}-{MT} -- Building open translation services for the World},
  author = {Tiedemann, J{\\\"o}rg and Thottingal, Santhosh},
  booktitle = {Proceedings of the 22nd Annual Conference of the European Association for Machine Translation},
  year = {2020},
  pages = {479--480},
  url = {https://aclanthology.org/2020.eamt-1.61}
}"""),
    "M2M-100 (translation model)": (r"m2m", """@article{fan2021beyond,
  title = {Beyond English-Centric Multilingual Machine Translation},
  author = {Fan, Angela and Bhosale, Shruti and Schwenk, Holger and others},
  journal = {Journal of Machine Learning Research},
  volume = {22},
  number = {107},
  pages = {1--48},
  year = {2021}
}"""),
    "MADLAD-400 (translation model)": (r"madlad", """@article{kudugunta2023madlad,
  title = {{MADLAD-400}: A Multilingual And Document-Level Large Audited Dataset},
  author = {Kudugunta, Sneha and Caswell, Isaac and Zhang, Biao and others},
  journal = {arXiv preprint arXiv:2309.04662},
  year = {2023}
}"""),
}


def parse_signature(sig: str) -> list[tuple[str, str]]:
    """``wb:0.1.0|stage:x|k:v`` -> ``[("wb", "0.1.0"), ("stage", "x"), ("k", "v")]``."""
    out = []
    for part in sig.split("|"):
        k, _, v = part.partition(":")
        out.append((k, v))
    return out


def citations_for(signatures: Sequence[str]) -> dict[str, str]:
    """The bibtex of each method whose pattern occurs in the signatures."""
    text = "\n".join(signatures).lower()
    return {name: bib for name, (pat, bib) in CITATIONS.items() if re.search(pat, text)}


def _facts(chain: Sequence[Version]) -> dict[str, list[str]]:
    """Source, models, projectors and filters named in the signatures of a lineage.

    Filter versions name each filter as a key (``length-ratio.v1:max=2.5``); other stages name
    models under keys containing ``model`` and projectors under ``projector``.
    """
    facts: dict[str, list[str]] = {"models": [], "projector": [], "filters": [], "source": []}
    for v in chain:
        for k, val in parse_signature(v.signature):
            key = k.lower()
            if key in ("wb", "stage", "parent", "source"):
                continue
            if v.stage == "filter":
                slot, item = ("filters", f"{k} ({val})" if val else k) if key not in ("filters", "filter") \
                    else ("filters", val)
            elif "model" in key:
                slot, item = "models", val
            elif "projector" in key:
                slot, item = "projector", val
            elif v.stage == "ingest" and key == "src":
                slot, item = "source", val
            else:
                continue
            if item not in facts[slot]:
                facts[slot].append(item)
    return facts


def _size_category(n: int) -> str:
    for bound, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                        (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M")):
        if n < bound:
            return name
    return "n>10M"


def _label_stats(store: Store, v: Version) -> list[tuple[str, str, int, int]]:
    with store.connect() as con:
        return con.execute(
            "SELECT label, coalesce(split, 'train'), count(*), count(DISTINCT example_id) "
            "FROM span_rows WHERE version_id=? GROUP BY ALL ORDER BY 1, 2", [v.id]).fetchall()


def _outcomes(store: Store, v: Version) -> list[tuple[str, str, int]]:
    with store.connect() as con:
        return con.execute(
            "SELECT label, outcome, count(*) FROM outcome_rows WHERE version_id=? "
            "GROUP BY ALL ORDER BY 1, 2", [v.id]).fetchall()


def _yaml(store: Store, versions: Sequence[Version], configs: Sequence[str], features: Any,
          splits: dict[str, dict[str, dict[str, int]]], opts: Any) -> str:
    import datasets
    from datasets.info import DatasetInfosDict
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCardData

    total = sum(s["num_examples"] for cfg in splits.values() for s in cfg.values())
    langs = sorted({v.lang for v in versions if v.lang})
    data = DatasetCardData(
        language=langs or None,
        license=opts.license,
        pretty_name=opts.pretty_name or versions[0].corpus,
        task_categories=["token-classification"],
        task_ids=["named-entity-recognition"],
        size_categories=[_size_category(total)],
        multilinguality="multilingual" if len(langs) > 1 else "monolingual",
        tags=["label-projection", "workbench"],
    )
    infos: dict[str, Any] = {}
    meta: dict[str, dict[str, Any]] = {}
    for i, config in enumerate(configs):
        split_dict = datasets.SplitDict()
        for name, s in splits[config].items():
            split_dict.add(datasets.SplitInfo(name=name, num_bytes=s["num_bytes"],
                                              num_examples=s["num_examples"]))
        size = sum(s["num_bytes"] for s in splits[config].values())
        infos[config] = datasets.DatasetInfo(features=features, splits=split_dict, dataset_size=size,
                                             download_size=size)
        meta[config] = {"data_files": [{"split": s, "path": f"data/{config}/{s}-*"}
                                       for s in splits[config]]}
        if i == 0 and len(configs) > 1:
            meta[config]["default"] = True
    DatasetInfosDict(infos).to_dataset_card_data(data)
    MetadataConfigs(meta).to_dataset_card_data(data)
    return data.to_yaml()


def render_card(store: Store, versions: Sequence[Version], configs: Sequence[str], features: Any,
                splits: dict[str, dict[str, dict[str, int]]], opts: Any) -> str:
    """The README.md of an export: YAML front matter then Markdown."""
    from workbench._version import __version__

    names = features["ner_tags"].feature.names
    title = opts.pretty_name or versions[0].corpus
    out = ["---", _yaml(store, versions, configs, features, splits, opts).strip(), "---", "",
           f"# {title}", "",
           f"Token-classification data made with workbench {__version__}: source examples with span "
           "labels, translated and with their labels projected onto the translations. One config "
           "per exported version (usually one per target language).", "",
           "```python", "import datasets",
           f"ds = datasets.load_dataset(\"OWNER/NAME\", \"{configs[0]}\")  # or a local directory",
           "```", "",
           "## Configs and splits", "", "| config | lang | version | split | examples |",
           "| --- | --- | --- | --- | ---: |"]
    for v, config in zip(versions, configs, strict=True):
        for split, s in splits[config].items():
            out.append(f"| {config} | {v.lang or ''} | `{v.ref}` | {split} | {s['num_examples']} |")
    out += ["", "## Columns", "",
            "- `id`: example id (the source example's id; translations keep it)",
            "- `tokens`, `ner_tags`: tokens and IOB2 tags; tag order: "
            + ", ".join(f"{i}={n}" for i, n in enumerate(names)),
            "- `text`, `spans`: the sentence and its labelled spans as character offsets "
            "(`end` exclusive), with token range, projection `score` and `source` span index",
            "- `lang`: language code",
            "- `src_text`, `mt_score`: source sentence and translation log-probability (when translated)",
            "- `outcomes`: for each source span, `projected`, `fallback` or `dropped`, with the reason "
            "and the projector", ""]
    all_sigs: list[str] = []
    for v, config in zip(versions, configs, strict=True):
        chain = ancestors(store, v)
        all_sigs += [x.signature for x in chain]
        facts = _facts(chain)
        out += [f"## How `{config}` was made", ""]
        for key, label in (("source", "Source"), ("models", "Models"), ("projector", "Projector"),
                           ("filters", "Filters")):
            out.append(f"- {label}: " + (", ".join(f"`{x}`" for x in facts[key]) or "none"))
        out += [f"- Workbench version: {__version__}", "", "| version | stage | examples | spans | signature |",
                "| --- | --- | ---: | ---: | --- |"]
        for x in chain:
            sig = x.signature.replace("|", "\\|")
            out.append(f"| `{x.ref}` | {x.stage} | {x.n_examples} | {x.n_spans} | `{sig}` |")
        out.append("")
        stats = _label_stats(store, v)
        root = chain[0]
        src = {(lab, sp): n for lab, sp, n, _ in _label_stats(store, root)} if root.id != v.id else {}
        out += [f"### Labels in `{config}`", "",
                "| label | split | spans | examples | spans in source |", "| --- | --- | ---: | ---: | ---: |"]
        for lab, sp, n, n_ex in stats:
            out.append(f"| {lab} | {sp} | {n} | {n_ex} | {src.get((lab, sp), '') if src else ''} |")
        oc = _outcomes(store, v)
        if oc:
            out += ["", f"### Projection outcomes in `{config}`", "", "| label | outcome | spans |",
                    "| --- | --- | ---: |"]
            out += [f"| {lab} | {o} | {n} |" for lab, o, n in oc]
        out.append("")
    out += ["## Licence", "", f"- Licence of this dataset: {opts.license or 'not stated'}"]
    if opts.source_license:
        out.append(f"- Licence of the source corpus: {opts.source_license}")
    if opts.license_details:
        out += ["", opts.license_details]
    out += ["", "Translations made by a machine translation model may carry the model's terms of use; "
            "check them before redistributing.", ""]
    cites = citations_for(all_sigs)
    out += ["## Citation", ""]
    if cites:
        out += ["Methods used to make this dataset:", ""]
        for name, bib in cites.items():
            out += [f"{name}:", "", "```bibtex", bib, "```", ""]
    else:
        out += ["No translation model or projection method was used to make this dataset.", ""]
    return "\n".join(out)
