"""What a translate run costs beyond the engine: it never imports pandas (pyarrow's first
``pa.array`` call does; ``bench/translate.py`` measures what a run costs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.mt import build_known_answer_model
from tests.translate.test_translate import recorder  # noqa: F401
from workbench.load import ingest

ROOT = Path(__file__).resolve().parents[2]


def test_a_translate_run_imports_no_pandas(store, tmp_path):
    model = build_known_answer_model(tmp_path / "known-answer-de")
    src = tmp_path / "en.jsonl"
    src.write_text("".join(json.dumps({"id": f"s{i}", "text": f"the house is {w} .", "spans": []}) + "\n"
                           for i, w in enumerate(["big", "old", "red"] * 5)), encoding="utf-8")
    ingest(src, name="news", lang="en", store=store)
    code = ("import sys\n"
            "from workbench.cli import run\n"
            "try:\n    run()\n"
            "except SystemExit as e:\n    assert not e.code, e.code\n"
            "print('pandas imported:', 'pandas' in sys.modules)")
    for name, extra in (("news.de", []), ("news.de-unscored", ["--no-scores"])):  # each one translates
        out = subprocess.run([sys.executable, "-c", code, "translate", "news", "-m", str(model), "--src-lang",
                              "en", "--tgt-lang", "de", "--beam-size", "1", "-q", "--no-check-language",
                              "--name", name, "--db", str(store.path), *extra],
                             capture_output=True, text=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT),
                             "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
        assert out.returncode == 0, out.stderr
        assert "pandas imported: False" in out.stdout, out.stdout
    assert [v.ref for v in store.versions()] == ["news@1", "news.de@1", "news.de-unscored@1"]


def test_chunks_with_more_behind_them_go_in_one_call_per_decoding_limit(store, tmp_path, recorder):  # noqa: F811
    """A chunk that is not the last is one ``translate_batch`` call per decoding limit (CTranslate2
    cuts it into the planned batches); the last one goes batch by batch, in the planned order.
    The translations are those of a run made of one final chunk (every batch its own call)."""
    from workbench.core.records import Example
    from workbench.translate import TranslateOptions, translate

    model = build_known_answer_model(tmp_path / "known-answer-de")
    words = ["the", "house", "is", "big", "old", "red", "and"]
    texts = [" ".join(words[(i + k) % 7] for k in range(3 + i % 9)) + " ." for i in range(60)]
    store.write_version([Example.from_text(f"s{i}", t) for i, t in enumerate(texts)], corpus="news",
                        stage="ingest", signature="test")
    opts = dict(beam_size=1, check_language=False, max_decoding_length=40, max_batch_tokens=48)
    chunked, = translate("news", model=str(model), src_lang="en", tgt_langs="de", store=store,
                         options=TranslateOptions(**opts, read_chunk=20))
    # chunks 1 and 2: one call each (one decoding limit, 40); chunk 3: its planned batches
    calls = [n for n, _ in recorder[0].batches]
    assert calls[:2] == [20, 20] and len(calls) > 3 and sum(calls[2:]) == 20
    with store.connect(read_only=False) as con:  # translated again, not served from the cache
        con.execute("DELETE FROM translate_cache")
    whole, = translate("news", model=str(model), src_lang="en", tgt_langs="de", store=store,
                       options=TranslateOptions(**opts, read_chunk=100, name="news.de-whole", flush_every=1))
    calls = [n for n, _ in recorder[1].batches]
    assert len(calls) > 8 and sum(calls) == 60  # one final chunk: one call per planned batch
    pairs = list(zip(store.examples(chunked), store.examples(whole), strict=True))
    assert all(a.text == b.text for a, b in pairs)
    assert all(a.meta["mt_score"] == pytest.approx(b.meta["mt_score"], rel=1e-4, abs=1e-5) for a, b in pairs)
