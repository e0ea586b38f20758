"""Natural input: a sentence known only as tokens (CoNLL without ``# text``) reaches the model
Moses-detokenised, the way models were trained; an original sentence is sent as it is; the
stored source is unchanged and spans still map; ``--no-detokenize`` keeps the joined tokens."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.translate import ct2_models, hf_models, model_home  # noqa: F401
from tests.translate.test_translate import recorder  # noqa: F401
from workbench.load.ingest import ingest
from workbench.mt.models import open_model
from workbench.translate import CACHE_TABLE, TranslateOptions, translate

OPTS = dict(max_decoding_length=6, beam_size=1)
TOKENS = ["(", "Reuters", ")", "Maria", "Schmidt", ",", "the", "CEO", ",", "said", '"', "yes", '"', "."]
TAGS = ["O", "B-ORG", "O", "B-PER", "I-PER"] + ["O"] * 9


def _conll(path: Path, with_text: bool) -> Path:
    lines = ["# sent_id = r1"]
    if with_text:
        lines.append("# text = (Reuters) Maria Schmidt, the CEO, said \"yes\".")
    lines += [f"{t}\t{g}" for t, g in zip(TOKENS, TAGS, strict=True)]
    path.write_text("\n".join(lines) + "\n\n" + "# sent_id = r2\nHello\tO\nworld\tO\n\n", encoding="utf-8")
    return path


def test_tokens_only_reach_the_model_detokenised(store, tmp_path, ct2_models, recorder):  # noqa: F811
    src = ingest(_conll(tmp_path / "a.conll", with_text=False), name="a", lang="en", store=store)
    (v,) = translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(**OPTS))
    natural = '(Reuters) Maria Schmidt, the CEO, said "yes".'
    by_id = {e.id: e for e in store.examples(v)}
    assert by_id["r1"].meta["mt_input"] == natural
    assert by_id["r1"].meta["src_text"] == " ".join(TOKENS)  # the stored source is unchanged
    assert "mt_input" not in by_id["r2"].meta  # "Hello world": nothing to detokenise
    m = open_model(ct2_models["marian"])
    assert m.encode(natural) in [s[1:-1] for s in recorder[0].sources]  # what the model got
    cached = {r["src_text"] for r in store.sql(f"SELECT src_text FROM {CACHE_TABLE}").to_pylist()}
    assert natural in cached and " ".join(TOKENS) not in cached
    first = next(iter(store.examples(src)))
    assert [first.text[s.start:s.end] for s in first.spans] == ["Reuters", "Maria Schmidt"]
    # the old behaviour on request: the joined tokens, another version
    (w,) = translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(detokenize=False, name="a.raw", **OPTS))
    assert all("mt_input" not in e.meta for e in store.examples(w))
    assert "detok:no" in w.signature and "detok:yes" in v.signature
    assert m.encode(" ".join(TOKENS)) in [s[1:-1] for s in recorder[1].sources]


def test_an_original_sentence_is_sent_as_it_is(store, tmp_path, ct2_models, recorder):  # noqa: F811
    src = ingest(_conll(tmp_path / "b.conll", with_text=True), name="b", lang="en", store=store)
    (v,) = translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(**OPTS))
    assert all("mt_input" not in e.meta for e in store.examples(v))
    m = open_model(ct2_models["marian"])
    assert m.encode('(Reuters) Maria Schmidt, the CEO, said "yes".') in [s[1:-1] for s in recorder[0].sources]


def test_a_corpus_of_token_texts_is_read_once_with_its_offsets(store, tmp_path, ct2_models, monkeypatch):  # noqa: F811
    """The source is read chunk by chunk without offsets; the first chunk found to hold a text
    made of its tokens is read again with them, and the chunks after it are read with them at
    once (a CoNLL corpus without ``# text`` is made of such texts)."""
    from workbench.store.store import Store

    blocks = [f"# sent_id = s{i}\n" + "\n".join(f"{t}\tO" for t in ["(", "Reuters", ")", f"w{i}", "."])
              for i in range(10)]
    (tmp_path / "b.conll").write_text("\n\n".join(blocks) + "\n\n", encoding="utf-8")
    src = ingest(tmp_path / "b.conll", name="b", lang="en", store=store)
    reads: list[tuple[int, bool]] = []
    real = Store.batch

    def batch(self, ref, lo, hi, *, fields=None):
        reads.append((lo, fields is None or "offsets" in fields))
        return real(self, ref, lo, hi, fields=fields)

    monkeypatch.setattr(Store, "batch", batch)
    (v,) = translate(src, model=str(ct2_models["marian"]), src_lang="en", tgt_langs="de", store=store,
                     options=TranslateOptions(**OPTS, read_chunk=3))
    assert reads == [(0, False), (0, True), (3, True), (6, True), (9, True)]
    assert all(e.meta["mt_input"] == f"(Reuters) w{i}." for i, e in enumerate(store.examples(v)))
