"""End to end on the known-answer model: ingest -> workbench translate -> workbench project (markers,
constrained): every span lands exactly on the dictionary translation of the source span."""

from __future__ import annotations

import pytest

from tests.fixtures.mt import build_known_answer_model, translate_words
from workbench.core.records import Example

translate_mod = pytest.importorskip("workbench.translate.stage", reason="needs the translate stage (issue 3)")
project_mod = pytest.importorskip("workbench.project.stage", reason="needs the project stage (issue 4)")

SENTS = [
    ("John Smith lives in New York .", [(0, 2, "PER"), (4, 6, "LOC")]),
    ("Mary works for Acme in Paris , and John visited Berlin today .",
     [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "LOC"), (8, 9, "PER"), (10, 11, "LOC")]),
    ("the Bank of England met Mary .", [(1, 4, "ORG"), (5, 6, "PER")]),
]


@pytest.mark.parametrize("name", ["markers.v1", "constrained.v1"])
def test_translate_then_project_known_answer(store, tmp_path, name):
    from workbench.mt.ct2 import CT2Model
    from workbench.mt.models import open_model

    d = build_known_answer_model(tmp_path / "ka")
    exs = []
    for i, (s, spans) in enumerate(SENTS):
        toks = s.split()
        tags = ["O"] * len(toks)
        for a, b, lab in spans:
            tags[a:b] = [f"B-{lab}"] + [f"I-{lab}"] * (b - a - 1)
        exs.append(Example.from_tokens(f"s{i}", toks, tags, text=s, lang="en"))
    src = store.write_version([exs], corpus="ka", stage="ingest", lang="en",
                              signature=__import__("workbench.core.signature", fromlist=["Signature"]).Signature("ingest"))
    opts = translate_mod.TranslateOptions(beam_size=2, max_decoding_length=200, compute_type="float32", device="cpu")
    [tv] = translate_mod.translate(src, model=open_model(d, family="marian.v1"), src_lang="en", tgt_langs="de",
                                   store=store, options=opts)
    got_tr = {ex.id: ex.text for ex in store.examples(tv)}
    assert got_tr == {f"s{i}": translate_words(s) for i, (s, _) in enumerate(SENTS)}
    model = CT2Model(d, intra_threads=1, max_decoding_length=200)
    key = "translator" if name.startswith("markers") else "scorer"
    pv = project_mod.project(tv, projector=name, options={key: model}, store=store)
    for ex in store.examples(pv):
        i = int(ex.id[1:])
        s, spans = SENTS[i]
        want = [(translate_words(" ".join(s.split()[a:b])), lab) for a, b, lab in spans]
        assert [(ex.text[sp.start:sp.end], sp.label) for sp in ex.spans] == want
        assert [o.outcome for o in ex.outcomes] == ["projected"] * len(spans)
