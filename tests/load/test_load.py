"""Readers and writers: CoNLL, Hugging Face datasets, JSONL flavours, Parquet, round trips
through the store, and bad input (an InputError naming where, nothing stored)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.core.errors import InputError
from workbench.core.records import Example, RepairWarning
from workbench.load import detect_format, read, read_conll, read_jsonl, to_hf_dataset, write
from workbench.load.hf import to_hf_dataset_dict
from workbench.load.ingest import ingest


def raw_conll(path: Path, token_col: int, tag_col: int) -> list[list[tuple[str, str]]]:
    """Sentences of (token, tag) read independently of the workbench (tab-separated)."""
    out, cur = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if cur:
                out.append(cur)
                cur = []
            continue
        if line.startswith("#") and not cur:
            continue
        cols = line.split("\t")
        cur.append((cols[token_col], cols[tag_col]))
    if cur:
        out.append(cur)
    return out


def conll_round_trip(store, path: Path, tmp_path: Path, name: str, **opts) -> None:
    v = ingest(path, name=name, store=store, **opts)
    out = tmp_path / f"{name}.conll"
    n = write(store.examples(v), out, format="conll")
    expected = raw_conll(path, opts.get("token_column", 0), opts.get("tag_column", -1))
    assert n == v.n_examples == len(expected)
    assert raw_conll(out, 0, -1) == expected
    assert v.n_spans == sum(t.startswith("B-") for s in expected for _, t in s)


def test_sample_conll_round_trip(store, sample_conll, tmp_path) -> None:
    conll_round_trip(store, sample_conll, tmp_path, "sample")


@pytest.mark.shared
@pytest.mark.parametrize("lang", ["en", "de", "es", "it"])
def test_europarl_conll_round_trip(store, shared_data, tmp_path, lang) -> None:
    conll_round_trip(store, shared_data / "europarl-ner-dev" / f"{lang}.conll", tmp_path,
                     f"europarl-{lang}", lang=lang)


@pytest.mark.shared
@pytest.mark.parametrize("part", ["dev", "test"])
def test_uner_iob2_round_trip(store, shared_data, tmp_path, part) -> None:
    path = shared_data / "uner-en-ewt" / f"en_ewt-ud-{part}.iob2"
    # columns: id, token, tag, two annotator columns
    conll_round_trip(store, path, tmp_path, f"uner-{part}", token_column=1, tag_column=2, lang="en")
    # sent_id and text comments are kept: ids and original texts
    first = next(store.examples(f"uner-{part}"))
    head = path.read_text(encoding="utf-8").split("\n\n", 1)[0].splitlines()
    sent_id = next(line.split("= ", 1)[1] for line in head if line.startswith("# sent_id"))
    text = next(line.split("= ", 1)[1] for line in head if line.startswith("# text"))
    assert (first.id, first.text) == (sent_id, text)
    assert "newdoc id = " in " ".join(first.meta.get("comments", [])) or part == "test"


def test_conll_comments_docstart_spaces_and_hashtag_tokens(tmp_path) -> None:
    f = tmp_path / "x.conll"
    f.write_text(
        "-DOCSTART- -X- O O\n\n"
        "# sent_id = a1\n# text = Ada  Lovelace wrote\nAda B-PER\nLovelace I-PER\nwrote O\n\n\n"
        "#\tO\n#Berlin\tB-LOC\nrocks\tO\n",
        encoding="utf-8",
    )
    a, b = list(read_conll(f))
    assert (a.id, a.text, a.tokens) == ("a1", "Ada  Lovelace wrote", ["Ada", "Lovelace", "wrote"])
    assert a.text[a.spans[0].start:a.spans[0].end] == "Ada  Lovelace"
    assert b.tokens == ["#", "#Berlin", "rocks"] and b.tags() == ["O", "B-LOC", "O"]
    assert b.id == "x-2"


def test_conll_token_column_detection(tmp_path) -> None:
    # CoNLL-2003 (token POS chunk NER): a number in column 0 is a token, not an index
    f = tmp_path / "c03.txt"
    f.write_text("1 CD B-NP O\nGerman JJ I-NP B-MISC\n\n1996 CD B-NP O\n2 CD I-NP O\n", encoding="utf-8")
    a, b = list(read_conll(f))
    assert a.tokens == ["1", "German"] and a.tags() == ["O", "B-MISC"]
    assert b.tokens == ["1996", "2"]
    # CoNLL-U style: a running index in column 0, the tag in column 2
    g = tmp_path / "u.iob2"
    g.write_text("1\tAda\tB-PER\t-\n2\tspoke\tO\t-\n\n1\t7\tO\t-\n", encoding="utf-8")
    a, b = list(read_conll(g, tag_column=2))
    assert (a.tokens, a.tags(), b.tokens) == (["Ada", "spoke"], ["B-PER", "O"], ["7"])
    with pytest.raises(InputError, match=r"u\.iob2:1: .*token column 9"):
        list(read_conll(g, tag_column=2, token_column=9))


@pytest.mark.parametrize("scheme", ["iob1", "bioes"])
def test_conll_other_schemes_round_trip(store, sample_conll, tmp_path, scheme) -> None:
    v1 = ingest(sample_conll, name="s", store=store)
    out = tmp_path / f"s.{scheme}"
    write(store.examples(v1), out, format="conll", scheme=scheme)
    v2 = ingest(out, name="s2", store=store, scheme=scheme, format="conll")
    a = [(e.tokens, e.tags()) for e in store.examples(v1)]
    b = [(e.tokens, e.tags()) for e in store.examples(v2)]
    assert a == b
    if scheme == "bioes":
        assert any(t.startswith(("S-", "E-")) for line in out.read_text().splitlines()
                   for t in line.split("\t")[-1:])


def test_repair_warns_and_strict_rejects(store, tmp_path) -> None:
    f = tmp_path / "r.conll"
    f.write_text("Hello O\nAda I-PER\n\n", encoding="utf-8")
    with pytest.warns(RepairWarning, match=r"r\.conll:1"):
        v = ingest(f, name="r", store=store)
    assert [(s.label, s.token_start) for s in next(store.examples(v)).spans] == [("PER", 1)]
    with pytest.raises(InputError, match=r"r\.conll:1.*I- without"):
        ingest(f, name="r", store=store, strict=True)
    assert [x.ref for x in store.versions()] == ["r@1"]


# -- Hugging Face datasets -------------------------------------------------------------------------
NAMES = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def hf_dict():
    import datasets

    features = datasets.Features({
        "id": datasets.Value("string"),
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=NAMES)),
    })
    train = {"id": ["0", "1", "2"],
             "tokens": [["Ada", "Lovelace", "met", "Babbage"], ["IBM", "in", "New", "York"], ["hi"]],
             "ner_tags": [[1, 2, 0, 1], [3, 0, 5, 6], [0]]}
    valid = {"id": ["0", "1"], "tokens": [["Paris", "!"], ["Ms", "Curie"]],
             "ner_tags": [[5, 0], [0, 1]]}
    return datasets.DatasetDict({
        "train": datasets.Dataset.from_dict(train, features=features),
        "validation": datasets.Dataset.from_dict(valid, features=features),
    })


def assert_same_hf(a, b) -> None:
    assert b.features["ner_tags"].feature.names == a.features["ner_tags"].feature.names
    assert b["tokens"] == a["tokens"]
    assert b["ner_tags"] == a["ner_tags"]
    assert b["id"] == a["id"]


def test_hf_datasetdict_round_trip(store) -> None:
    dd = hf_dict()
    v = ingest(dd, name="hf", store=store, lang="en")
    assert v.n_examples == 5 and v.n_spans == 6
    assert v.params["label_names"] == NAMES
    exs = list(store.examples(v))
    assert [e.split for e in exs] == ["train"] * 3 + ["validation"] * 2
    assert exs[0].id == "train-0" and exs[3].id == "validation-0"  # split ids repeat
    back = to_hf_dataset_dict(exs)
    assert list(back) == ["train", "validation"]
    for split in dd:
        assert_same_hf(dd[split], back[split])
    # one split as a Dataset
    v2 = ingest(dd["validation"], name="hf-valid", store=store)
    assert_same_hf(dd["validation"], to_hf_dataset(store.examples(v2)))


def test_hf_names_order_kept_even_when_unusual(store) -> None:
    import datasets

    names = ["B-LOC", "O", "I-LOC", "B-PER", "I-PER"]  # O not first; PER unused below
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=names))})
    ds = datasets.Dataset.from_dict({"tokens": [["Rome", "!"]], "ner_tags": [[0, 1]]},
                                    features=features)
    v = ingest(ds, name="odd", store=store)
    back = to_hf_dataset(store.examples(v))
    assert back.features["ner_tags"].feature.names == names
    assert back["ner_tags"] == [[0, 1]]


def test_hf_save_to_disk_and_json_data_file(store, tmp_path) -> None:
    import datasets

    dd = hf_dict()
    dd.save_to_disk(str(tmp_path / "dd"))
    dd["train"].save_to_disk(str(tmp_path / "train"))
    v = ingest(tmp_path / "dd", name="disk", store=store)  # detected as hf (a directory)
    assert v.n_examples == 5
    assert_same_hf(dd["validation"], to_hf_dataset_dict(store.examples(v))["validation"])
    v = ingest(str(tmp_path / "train"), name="disk-train", store=store)
    assert_same_hf(dd["train"], to_hf_dataset(store.examples(v)))

    # a JSON data file with string tags, read through load_dataset
    rows = [{"id": "a", "tokens": ["Ada", "Lovelace"], "ner_tags": ["B-PER", "I-PER"]},
            {"id": "b", "tokens": ["in", "Paris"], "ner_tags": ["O", "B-LOC"]}]
    jf = tmp_path / "data.json"
    jf.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    loaded = datasets.load_dataset("json", data_files=str(jf))
    v = ingest(loaded, name="json-ds", store=store)
    assert [e.tags() for e in store.examples(v)] == [r["ner_tags"] for r in rows]
    v = ingest(jf, name="json-path", store=store, format="hf")
    assert [e.id for e in store.examples(v)] == ["a", "b"]
    # the same file read as token-list JSON lines
    v = ingest(jf, name="json-lines", store=store)
    assert [e.tokens for e in store.examples(v)] == [r["tokens"] for r in rows]


def test_hf_bad_input(store) -> None:
    import datasets

    with pytest.raises(InputError, match="no column 'ner_tags'"):
        ingest(datasets.Dataset.from_dict({"tokens": [["a"]]}), name="x", store=store)
    ints = datasets.Dataset.from_dict({"tokens": [["a"]], "ner_tags": [[1]]})
    with pytest.raises(InputError, match="row 0.*no ClassLabel"):
        ingest(ints, name="x", store=store)
    v = ingest(ints, name="x", store=store, names=["O", "B-PER", "I-PER"])
    assert next(store.examples(v)).tags() == ["B-PER"]
    empty = datasets.Dataset.from_dict({"tokens": [["a"], []], "ner_tags": [["O"], []]})
    with pytest.raises(InputError, match=r"row 1.*empty sentence"):
        ingest(empty, name="y", store=store)
    mismatch = datasets.Dataset.from_dict({"id": ["q"], "tokens": [["a", "b"]], "ner_tags": [["O"]]})
    with pytest.raises(InputError, match=r"id q.*1 tags for 2 tokens"):
        ingest(mismatch, name="y", store=store)
    assert [x.ref for x in store.versions()] == ["x@1"]


# -- JSONL -------------------------------------------------------------------------------------------
TEXTS = [
    "Ada Lovelace visited Zürich 🇨🇭 with Mr. Babbage 👨\u200d🔬.",
    "😀 Ünïcödé: José Martí met 東京 officials",
]


def spans_of(text: str, *words_labels: tuple[str, str]) -> list[list]:
    out = []
    for w, lab in words_labels:
        s = text.index(w)
        out.append([s, s + len(w), lab])
    return out


def test_doccano_and_workbench_jsonl_round_trip(store, tmp_path) -> None:
    recs = [
        {"id": 1, "text": TEXTS[0], "label": spans_of(TEXTS[0], ("Ada Lovelace", "PER"),
                                                      ("Zürich", "LOC"), ("Babbage", "PER"))},
        {"id": 2, "text": TEXTS[1], "label": spans_of(TEXTS[1], ("José Martí", "PER"), ("東京", "LOC"))},
    ]
    f = tmp_path / "doccano.jsonl"
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")
    v = ingest(f, name="doc", store=store)
    exs = list(store.examples(v))
    for rec, ex in zip(recs, exs, strict=True):
        assert ex.id == str(rec["id"]) and ex.text == rec["text"]
        assert [[s.start, s.end, s.label] for s in ex.spans] == rec["label"]
        ex.validate()
    # workbench JSONL keeps tokens, offsets and spans exactly
    wb = tmp_path / "wb.jsonl"
    write(exs, wb, format="jsonl")
    v2 = ingest(wb, name="wb", store=store)
    exs2 = list(store.examples(v2))
    assert [(e.id, e.text, e.offsets, e.spans) for e in exs2] == [
        (e.id, e.text, e.offsets, e.spans) for e in exs]
    # doccano flavour written back equals the input
    out = tmp_path / "back.jsonl"
    write(exs2, out, format="jsonl", flavour="doccano")
    back = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(b["text"], b["label"]) for b in back] == [(r["text"], r["label"]) for r in recs]


def test_doccano_entities_flavour(tmp_path) -> None:
    f = tmp_path / "d.jsonl"
    text = "Ada met Grace"
    f.write_text(json.dumps({"text": text, "entities": [
        {"id": 7, "start_offset": 0, "end_offset": 3, "label": "PER"},
        {"id": 8, "start_offset": 8, "end_offset": 13, "label": "PER"}]}) + "\n", encoding="utf-8")
    (ex,) = read(f)
    assert [ex.text[s.start:s.end] for s in ex.spans] == ["Ada", "Grace"]
    assert ex.id == "d-1"


def label_studio_task(task_id: int, text: str, spans: list[list], utf16: bool = False) -> dict:
    result = []
    for s, e, lab in spans:
        if utf16:
            s = len(text[:s].encode("utf-16-le")) // 2
            e = len(text[:e].encode("utf-16-le")) // 2
        result.append({"from_name": "label", "to_name": "text", "type": "labels",
                       "value": {"start": s, "end": e, "text": text[spans[len(result)][0]:
                                                                  spans[len(result)][1]],
                                 "labels": [lab]}})
    return {"id": task_id, "data": {"text": text}, "annotations": [{"result": result}]}


def test_label_studio_export(store, tmp_path) -> None:
    sp0 = spans_of(TEXTS[0], ("Ada Lovelace", "PER"), ("Babbage", "PER"))
    sp1 = spans_of(TEXTS[1], ("José Martí", "PER"))
    f = tmp_path / "ls.json"
    f.write_text(json.dumps([label_studio_task(11, TEXTS[0], sp0),
                             label_studio_task(12, TEXTS[1], sp1)], ensure_ascii=False),
                 encoding="utf-8")
    assert detect_format(f) == "jsonl"
    v = ingest(f, name="ls", store=store)
    exs = list(store.examples(v))
    assert [e.id for e in exs] == ["11", "12"]
    assert [[s.start, s.end, s.label] for s in exs[0].spans] == sp0
    # offsets counted in UTF-16 units (older Label Studio) are detected by the quoted text
    g = tmp_path / "ls16.json"
    g.write_text(json.dumps([label_studio_task(13, TEXTS[1], sp1, utf16=True)]), encoding="utf-8")
    with pytest.warns(RepairWarning, match="UTF-16"):
        (ex,) = read(g)
    assert [[s.start, s.end, s.label] for s in ex.spans] == sp1


def test_parquet_round_trip(store, sample_conll, tmp_path) -> None:
    v = ingest(sample_conll, name="s", store=store)
    exs = list(store.examples(v))
    exs[0].meta["mt_score"] = -1.5
    out = tmp_path / "s.parquet"
    assert write(exs, out) == len(exs)
    assert detect_format(out) == "parquet"
    back = list(read(out))
    assert back == exs
    v2 = ingest(out, name="p", store=store)
    assert list(store.examples(v2)) == exs


# -- bad input -------------------------------------------------------------------------------------
BAD_CONLL = [
    ("malformed.conll", "Ada B-PER\nLovelace\n", r"malformed\.conll:2: expected a token and a tag"),
    ("badtag.conll", "Ada B-PER\nx PER\n", r"badtag\.conll:2: tag 'PER'"),
    ("empty.conll", "# sent_id = s1\n# text = Hi\n\nHi O\n", r"empty\.conll:1: empty sentence"),
    ("nocols.conll", "1\tAda\n", r"nocols\.conll:1: tag 'Ada'"),
]



@pytest.mark.parametrize(("name", "content", "match"), BAD_CONLL)
def test_bad_conll(store, seeded, tmp_path, name, content, match) -> None:
    f = tmp_path / name
    f.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=match) as info:
        ingest(f, name="sample", store=store)
    assert info.value.fix
    seeded()


def test_invalid_utf8(store, seeded, tmp_path) -> None:
    f = tmp_path / "latin.conll"
    f.write_bytes("Ada B-PER\n\nZ\xfcrich B-LOC\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.conll:3: invalid UTF-8") as info:
        ingest(f, name="sample", store=store)
    assert "iconv" in info.value.fix
    j = tmp_path / "latin.json"
    j.write_bytes(b'[{"text": "ok"},\n{"text": "Z\xfcrich"}]')
    with pytest.raises(InputError, match=r"latin\.json:2: invalid UTF-8"):
        ingest(j, name="sample", store=store)
    seeded()


def test_duplicate_ids(store, seeded, tmp_path) -> None:
    f = tmp_path / "dup.conll"
    f.write_text("# sent_id = a\nx O\n\n# sent_id = b\ny O\n\n# sent_id = a\nz O\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"duplicate example ids: 'a' \(2x, lines 1, 7\)"):
        ingest(f, name="sample", store=store)
    seeded()


def jsonl_file(tmp_path: Path, *records: dict) -> Path:
    f = tmp_path / "bad.jsonl"
    f.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return f


OK = {"text": "Ada met Grace", "label": [[0, 3, "PER"]]}


@pytest.mark.parametrize(
    ("record", "match"),
    [
        ({"text": "Ada met Grace", "label": [[0, 7, "PER"], [4, 13, "PER"]]}, "overlaps"),
        ({"text": "Ada met Grace", "label": [[8, 20, "PER"]]}, "out of range"),
        ({"text": "Ada met Grace", "label": [[-1, 3, "PER"]]}, "out of range"),
        ({"text": "   ", "label": []}, "empty text"),
        ({"text": "", "label": []}, "empty text"),
        ({"text": "cafe\u0301 Ada", "label": [[0, 4, "ORG"]]}, "cuts a character.*offset 4"),
        ({"text": "👨\u200d🚒 Ada", "label": [[0, 1, "PER"]]}, "cuts a character"),
        ({"text": "Ada met Grace", "label": [["0", 3, "PER"]]}, "not integers"),
        ({"text": "Ada met Grace", "label": [[0, 3]]}, "malformed span"),
        ({"label": []}, "no 'text'"),
        ({"text": "Ada", "label": [[0, 3, ""]]}, "no label"),
    ],
)
def test_bad_jsonl(store, seeded, tmp_path, record, match) -> None:
    f = jsonl_file(tmp_path, OK, record)
    with pytest.raises(InputError, match=rf"bad\.jsonl:2: .*{match}"):
        ingest(f, name="sample", store=store)
    seeded()


def test_bad_jsonl_lines(store, seeded, tmp_path) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps(OK) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl:2: invalid JSON"):
        ingest(f, name="sample", store=store)
    f = jsonl_file(tmp_path, {**OK, "id": "x"}, {**OK, "id": "x"})
    with pytest.raises(InputError, match=r"duplicate example ids: 'x' \(2x\)"):
        ingest(f, name="sample", store=store)
    f = jsonl_file(tmp_path, {"text": "Ada", "tokens": [[0, 3]],
                              "spans": [{"start": 0, "end": 3, "label": "PER"}]})
    with pytest.raises(InputError, match=r"bad\.jsonl:1: malformed record.*token_start"):
        ingest(f, name="sample", store=store)
    seeded()


def test_empty_input_and_unknown_scheme(store, seeded, tmp_path) -> None:
    f = tmp_path / "blank.conll"
    f.write_text("\n\n-DOCSTART- O\n\n", encoding="utf-8")
    with pytest.raises(InputError, match="blank.conll: no examples found"):
        ingest(f, name="sample", store=store)
    g = tmp_path / "ok.conll"
    g.write_text("Ada B-PER\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown tag scheme 'bilou'"):
        ingest(g, name="sample", store=store, scheme="bilou")
    with pytest.raises(InputError, match="unknown format 'xml'"):
        ingest(g, name="sample", store=store, format="xml")
    seeded()


def test_write_conll_skips_empty_and_rejects_tabs(tmp_path) -> None:
    exs = [Example("e", "", []), Example.from_tokens("f", ["a\tb"], ["O"])]
    with pytest.raises(InputError, match="example f: token 'a\\\\tb' holds a tab"):
        write(exs, tmp_path / "o.conll")
    assert write(exs[:1], tmp_path / "o.conll") == 0


def test_jsonl_outcomes_round_trip(tmp_path) -> None:
    from workbench.core.records import Span, SpanOutcome

    ex = Example("p1", "Ada fuhr", [(0, 3), (4, 8)], [Span(0, 3, "PER", 0, 1, 0.9, 0)], lang="de",
                 outcomes=[SpanOutcome(0, "PER", "projected", "", "align.v1", 0.9),
                           SpanOutcome(1, "LOC", "dropped", "no alignment", "align.v1")])
    write([ex], tmp_path / "o.jsonl")
    assert list(read_jsonl(tmp_path / "o.jsonl")) == [ex]


WORDS = ["Ada", "Zürich", "😀", "👨\u200d🚒", "東京", "café", "e\u0301te\u0301", "हिन्दी", "O'Neil", "-",
         ",", "🇩🇪", "Łódź", "naïve", "ß", "İstanbul"]


@st.composite
def doccano_records(draw) -> dict:
    words = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12))
    starts, pos = [], 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1
    text = " ".join(words)
    spans, i = [], 0
    while i < len(words):
        i += draw(st.integers(0, 2))
        if i >= len(words):
            break
        j = min(len(words), i + draw(st.integers(1, 3)))
        spans.append([starts[i], starts[j - 1] + len(words[j - 1]), draw(st.sampled_from(["PER", "LOC"]))])
        i = j
    return {"id": "r", "text": text, "label": spans}


@settings(max_examples=60, deadline=None)
@given(rec=doccano_records())
def test_jsonl_offsets_survive_any_text(tmp_path_factory, rec) -> None:
    d = tmp_path_factory.mktemp("prop")
    src = d / "in.jsonl"
    src.write_text(json.dumps(rec, ensure_ascii=False) + "\n", encoding="utf-8")
    (ex,) = read(src)
    assert ex.text == rec["text"]
    assert [[s.start, s.end, s.label] for s in ex.spans] == rec["label"]
    ex.validate()
    write([ex], d / "wb.jsonl", format="jsonl")
    assert list(read(d / "wb.jsonl")) == [ex]
    write([ex], d / "doc.jsonl", format="jsonl", flavour="doccano")
    assert json.loads((d / "doc.jsonl").read_text(encoding="utf-8")) == rec
