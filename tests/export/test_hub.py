"""Hub-ready export: layout, load_dataset round trip with the same features, card contents."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from workbench.core.errors import ConfigError
from workbench.core.records import Example, Span, SpanOutcome
from workbench.core.signature import Signature
from workbench.export.hub import MARKER, hub_features
from workbench.export.stage import export
from workbench.load.ingest import ingest
from workbench.translate.attach import attach

ROOT = Path(__file__).resolve().parents[2]


def _load(path: Path, tmp_path: Path, name: str | None = None):
    import datasets

    return datasets.load_dataset(str(path), name, cache_dir=str(tmp_path / "hf-cache"))


@pytest.fixture
def split_source(tmp_path: Path) -> Path:
    """12 workbench-JSONL examples over train/validation/test."""
    rows = []
    for i in range(12):
        split = ["train", "train", "validation", "test"][i % 4]
        text = f"Anna Berg visited Oslo with Acme Corp in {2000 + i} ."
        rows.append({"id": f"s{i:02d}", "split": split, "text": text,
                     "spans": [{"start": 0, "end": 9, "label": "PER"}, {"start": 18, "end": 22, "label": "LOC"},
                               {"start": 28, "end": 37, "label": "ORG"}][: 1 + i % 3]})
    p = tmp_path / "src.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return p


def _projected(store, src_v, tv, projector: str = "align.eflomal.v1"):
    """A projected version in the shape the project stage makes (spans with score/source, outcomes)."""
    out = []
    src = {ex.id: ex for ex in store.examples(src_v)}
    for ex in store.examples(tv):
        s = src[ex.id]
        spans, outcomes = [], []
        for k, sp in enumerate(s.spans):
            if k == 2:  # the third span is dropped, to see outcomes in the card
                outcomes.append(SpanOutcome(k, sp.label, "dropped", "no aligned target token", projector, 0.0))
                continue
            tok = 0 if k == 0 else 3
            spans.append(Span(ex.offsets[tok][0], ex.offsets[tok + 1 if k == 0 else tok][1], sp.label,
                              tok, tok + 2 if k == 0 else tok + 1, 0.9, k))
            outcomes.append(SpanOutcome(k, sp.label, "projected", "", projector, 0.9))
        out.append(Example(ex.id, ex.text, ex.offsets, spans, ex.lang, ex.split,
                           {**ex.meta, "mt_score": -3.5}, outcomes))
    sig = Signature("project").add("parent", tv.ref).add("projector", projector)
    return store.write_version(out, corpus=tv.corpus, stage="project", signature=sig,
                               parents=[tv, src_v], lang=tv.lang)


@pytest.fixture
def corpora(store, split_source: Path, tmp_path: Path):
    src = ingest(split_source, name="toy", lang="en", store=store)
    de = tmp_path / "toy-de.txt"
    de.write_text("".join(f"Anna Berg besuchte Oslo mit Acme Corp im Jahr {2000 + i} .\n" for i in range(12)))
    es = tmp_path / "toy-es.txt"
    es.write_text("".join(f"Anna Berg visitó Oslo con Acme Corp en {2000 + i} .\n" for i in range(12)))
    tde = attach(src, de, tgt_lang="de", store=store)
    tes = attach(src, es, tgt_lang="es", store=store)
    return src, _projected(store, src, tde), _projected(store, src, tes)


def test_layout_and_round_trip_with_features(store, corpora, tmp_path: Path) -> None:
    src, pde, pes = corpora
    out = tmp_path / "hf"
    n = export([pde.ref, pes.ref], out, format="hf", store=store, license="cc-by-4.0")
    assert n == 24
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*.parquet"))
    assert files == [f"data/{c}/{s}-00000-of-00001.parquet" for c in ("de", "es")
                     for s in ("test", "train", "validation")]
    names = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    expected = hub_features(names)
    default = _load(out, tmp_path)  # first config is the default
    es = _load(out, tmp_path, "es")
    for dd in (default, es):
        assert sorted(dd) == ["test", "train", "validation"]
        for split in dd.values():
            assert split.features == expected
    assert {s: len(d) for s, d in default.items()} == {"train": 6, "validation": 3, "test": 3}
    rows = {r["id"]: r for split in es.values() for r in split}
    stored = {ex.id: ex for ex in store.examples(pes)}
    assert rows.keys() == stored.keys()
    label = es["train"].features["ner_tags"].feature
    for i, ex in stored.items():
        r = rows[i]
        assert r["tokens"] == ex.tokens
        assert [label.int2str(t) for t in r["ner_tags"]] == ex.tags("iob2")
        assert [(s["start"], s["end"], s["label"], s["source"]) for s in r["spans"]] == [
            (s.start, s.end, s.label, s.source) for s in ex.spans]
        assert r["src_text"] == ex.meta["src_text"] and r["mt_score"] == -3.5
        assert [o["outcome"] for o in r["outcomes"]] == [o.outcome for o in ex.outcomes]
        assert r["lang"] == "es"


def test_source_classlabel_order_is_kept(store, tmp_path: Path) -> None:
    import datasets

    conll_order = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    feats = datasets.Features({"id": datasets.Value("string"),
                               "tokens": datasets.Sequence(datasets.Value("string")),
                               "ner_tags": datasets.Sequence(datasets.ClassLabel(names=conll_order))})
    ds = datasets.Dataset.from_dict({"id": ["a", "b"], "tokens": [["Rome", "is", "old"], ["Ann", "sings"]],
                                     "ner_tags": [[5, 0, 0], [1, 0]]}, features=feats)
    v = ingest(ds, name="cl", lang="en", store=store)
    extra = Example.from_tokens("c", ["Mars"], ["B-PLANET"], lang="en")
    v2 = store.write_version(list(store.examples(v)) + [extra], corpus="cl", stage="ingest",
                             signature="x", parents=[v], lang="en")
    out = tmp_path / "hf"
    export(v2.ref, out, format="hf", store=store)
    names = _load(out, tmp_path)["train"].features["ner_tags"].feature.names
    assert names == conll_order + ["B-PLANET", "I-PLANET"]


def test_card_records_signature_counts_labels_licence_citations(store, corpora, tmp_path: Path) -> None:
    src, pde, pes = corpora
    out = tmp_path / "hf"
    export([pde.ref, pes.ref], out, format="hf", store=store, license="cc-by-sa-4.0",
           source_license="CC0 (toy data)", license_details="Attribution: the toy team.")
    card = (out / "README.md").read_text()
    front = card.split("---")[1]
    assert "license: cc-by-sa-4.0" in front and "- de" in front and "- es" in front
    assert "config_name: de" in front and "path: data/es/train-*" in front
    assert "CC0 (toy data)" in card and "Attribution: the toy team." in card
    # lineage: every ancestor's signature, escaped for the Markdown table
    for v in (src, pde):
        assert v.signature.replace("|", "\\|") in card
    assert "`align.eflomal.v1`" in card
    # per-label counts match SQL on the same version
    rows = store.sql("SELECT label, split, count(*) AS n FROM span_rows WHERE version_id = ? "
                     "GROUP BY ALL", [pde.id]).to_pylist()
    assert rows
    section = card.split("### Labels in `de`")[1].split("###")[0]
    for r in rows:
        assert re.search(rf"\| {r['label']} \| {r['split']} \| {r['n']} \|", section), r
    dropped = store.sql("SELECT count(*) AS n FROM outcome_rows WHERE version_id=? AND outcome='dropped'",
                        [pde.id]).to_pylist()[0]["n"]
    assert dropped > 0 and re.search(rf"\| ORG \| dropped \| {dropped} \|", card)
    # citations: only the methods used
    assert "ostling-tiedemann-2016-efficient" in card
    for absent in ("nllb2022", "chen-etal-2023-frustratingly", "le2024constrained", "jalili-sabet"):
        assert absent not in card


def test_card_without_methods_cites_nothing(store, sample_conll: Path, tmp_path: Path) -> None:
    v = ingest(sample_conll, name="sample-en", lang="en", store=store)
    export(v.ref, tmp_path / "hf", format="hf", store=store)
    card = (tmp_path / "hf" / "README.md").read_text()
    assert "```bibtex" not in card and "| 36 |" in card


def test_shards_are_numbered_and_load_in_order(store, sample_conll: Path, tmp_path: Path) -> None:
    v = ingest(sample_conll, name="sample-en", lang="en", store=store)
    out = tmp_path / "hf"
    export(v.ref, out, format="hf", store=store, shard_rows=10)
    assert sorted(p.name for p in (out / "data" / "en").iterdir()) == [
        f"train-{i:05d}-of-00004.parquet" for i in range(4)]
    ds = _load(out, tmp_path, "en")["train"]
    assert ds["id"] == [ex.id for ex in store.examples(v)]


def test_replaces_previous_export_but_not_a_foreign_directory(store, sample_conll: Path, tmp_path: Path) -> None:
    v = ingest(sample_conll, name="sample-en", lang="en", store=store)
    out = tmp_path / "hf"
    export(v.ref, out, format="hf", store=store, shard_rows=10)
    export(v.ref, out, format="hf", store=store, config_names=["english"])
    assert sorted(p.name for p in (out / "data").iterdir()) == ["english"]
    assert json.loads((out / MARKER).read_text())["configs"] == ["english"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".hf.")]  # no temp dirs left
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a workbench export"):
        export(v.ref, foreign, format="hf", store=store)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_config_names_must_be_distinct(store, sample_conll: Path, tmp_path: Path) -> None:
    v = ingest(sample_conll, name="a", lang="en", store=store)
    w = ingest(sample_conll, name="b", lang="en", store=store)
    with pytest.raises(ConfigError, match="share the config name"):
        export([v.ref, w.ref], tmp_path / "hf", format="hf", store=store)
    with pytest.raises(ConfigError, match="one ref"):
        export([v.ref, w.ref], tmp_path / "x.conll", format="conll", store=store)
    export([v.ref, w.ref], tmp_path / "hf", format="hf", store=store, config_names=["a", "b"])
    assert sorted(_load(tmp_path / "hf", tmp_path, "b")) == ["train"]


def test_cli_export_hf(store, sample_conll: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app

    ingest(sample_conll, name="sample-en", lang="en", store=store)
    res = CliRunner().invoke(app, ["export", "sample-en", "-f", "hf", "-o", str(tmp_path / "hf"),
                                   "--license", "mit", "--db", str(store.path)])
    assert res.exit_code == 0, res.output
    assert "wrote 36 examples" in res.output
    assert "license: mit" in (tmp_path / "hf" / "README.md").read_text()


def test_card_names_the_filters_of_a_filter_version(store, corpora, tmp_path: Path) -> None:
    src, pde, _ = corpora
    sig = (Signature("filter").add("parent", pde.ref).add("length-ratio.v1", "max=2.5")
           .add("projection-complete.v1", "max_dropped=0"))
    fv = store.write_version(list(store.examples(pde))[:5], corpus=pde.corpus, stage="filter", signature=sig,
                             parents=[pde], lang="de")
    export(fv.ref, tmp_path / "hf", format="hf", store=store)
    card = (tmp_path / "hf" / "README.md").read_text()
    assert "- Filters: `length-ratio.v1 (max=2.5)`, `projection-complete.v1 (max_dropped=0)`" in card
    assert "- Projector: `align.eflomal.v1`" in card
    assert "- Source: `src.jsonl#" in card
