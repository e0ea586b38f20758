"""Hand-built stored versions following the stage conventions, for the filter and report tests.

``build_chain`` stores three versions of a corpus: a source version (stage ingest), a translated
child (stage translate: ``meta.src_text`` etc., no spans) and a projected grandchild (stage
project: spans with ``score``/``source``, ``outcomes``), all sharing example ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.core.records import Example, Span, SpanOutcome, tokenize
from workbench.core.signature import Signature
from workbench.store.store import Store, Version


@dataclass
class Row:
    """One example across the chain.

    ``src_spans`` / ``tgt_spans`` are ``(substring, label)`` located left to right in the text;
    ``tgt_spans`` entries may carry a score and a source index: ``(substring, label, score, source)``.
    ``outcomes`` are ``(source, outcome, reason)``; by default one ``projected`` per target span.
    """

    id: str
    src: str
    tgt: str
    src_spans: list[tuple] = field(default_factory=list)
    tgt_spans: list[tuple] = field(default_factory=list)
    outcomes: list[tuple] | None = None
    logprob: float | None = -0.5
    projector: str = "align.test.v1"


def _locate(text: str, spans: list[tuple]) -> list[tuple[int, int, str]]:
    out, pos = [], 0
    for sp in spans:
        i = text.index(sp[0], pos)
        out.append((i, i + len(sp[0]), sp[1]))
        pos = i + len(sp[0])
    return out


def source_example(r: Row, lang: str = "en") -> Example:
    return Example.from_text(r.id, r.src, _locate(r.src, r.src_spans), lang=lang)


def translated_example(r: Row, src_lang: str = "en", tgt_lang: str = "de") -> Example:
    meta = {"src_text": r.src, "src_lang": src_lang}
    if r.logprob is not None:
        n = max(len(tokenize(r.tgt)), 1)
        meta.update(mt_score=r.logprob * n, mt_avg_logprob=r.logprob)
    return Example(r.id, r.tgt, tokenize(r.tgt), [], lang=tgt_lang, meta=meta)


def projected_example(r: Row, src_lang: str = "en", tgt_lang: str = "de") -> Example:
    base = translated_example(r, src_lang, tgt_lang)
    chars = _locate(r.tgt, r.tgt_spans)
    aligned = Example.from_text(r.id, r.tgt, chars, lang=tgt_lang)
    spans = []
    for k, (sp, extra) in enumerate(zip(aligned.spans, r.tgt_spans, strict=True)):
        score = extra[2] if len(extra) > 2 else 0.9
        source = extra[3] if len(extra) > 3 else k
        spans.append(Span(sp.start, sp.end, sp.label, sp.token_start, sp.token_end, score, source))
    src_labels = [lab for _, lab in r.src_spans]
    if r.outcomes is None:
        outs = [SpanOutcome(s.source, src_labels[s.source], "projected", "", r.projector, s.score)
                for s in spans]
    else:
        outs = [SpanOutcome(i, src_labels[i], o, why, r.projector, None) for i, o, why in r.outcomes]
    return Example(r.id, r.tgt, aligned.offsets, spans, lang=tgt_lang, meta=base.meta, outcomes=outs)


def build_chain(store: Store, rows: list[Row], corpus: str = "toy", tgt_lang: str = "de",
                src_lang: str = "en") -> tuple[Version, Version, Version]:
    """Store source, translated and projected versions; returns them in that order."""
    src = store.write_version([source_example(r, src_lang) for r in rows], corpus=corpus,
                              stage="ingest", signature=Signature("ingest").add("t", "src"),
                              lang=src_lang)
    tr = store.write_version([translated_example(r, src_lang, tgt_lang) for r in rows],
                             corpus=f"{corpus}.{tgt_lang}", stage="translate",
                             signature=Signature("translate").add("parent", src.ref),
                             parents=[src], lang=tgt_lang)
    pr = store.write_version([projected_example(r, src_lang, tgt_lang) for r in rows],
                             corpus=f"{corpus}.{tgt_lang}", stage="project",
                             signature=Signature("project").add("parent", tr.ref),
                             parents=[tr, src], lang=tgt_lang)
    return src, tr, pr


#: A small corpus where the right decision of each filter is known (see the ids).
ROWS = [
    Row("good-1", "Angela Merkel visited Paris on Monday with her advisers.",
        "Angela Merkel besuchte am Montag mit ihren Beratern Paris.",
        [("Angela Merkel", "PER"), ("Paris", "LOC")], [("Angela Merkel", "PER"), ("Paris", "LOC")]),
    Row("good-2", "The European Commission approved the new budget yesterday.",
        "Die Europäische Kommission hat gestern den neuen Haushalt gebilligt.",
        [("European Commission", "ORG")], [("Europäische Kommission", "ORG")]),
    Row("long-1", "He left.",
        "Er ist nach einer langen und sehr anstrengenden Sitzung des Ausschusses gegangen.",
        [], []),
    Row("french-1", "The weather in Berlin is very nice today, says Peter.",
        "Le temps à Berlin est très beau aujourd'hui, dit Peter.",
        [("Berlin", "LOC"), ("Peter", "PER")], [("Berlin", "LOC"), ("Peter", "PER")]),
    Row("copy-1", "The committee will meet again next week in Brussels.",
        "The committee will meet again next week in Brussels.",
        [("Brussels", "LOC")], [("Brussels", "LOC")]),
    Row("loop-1", "The parliament adopted the resolution on Thursday.",
        "Das Parlament nahm die Entschließung am Donnerstag an an an an an.",
        [], []),
    Row("lowmt-1", "Mr Smith thanked the rapporteur for his excellent work.",
        "Herr Smith dankte dem Berichterstatter für seine hervorragende Arbeit.",
        [("Smith", "PER")], [("Smith", "PER")], logprob=-3.5),
    Row("dropped-1", "Maria and John met the delegation from Spain in Madrid.",
        "Maria und John trafen die Delegation aus Spanien in Madrid.",
        [("Maria", "PER"), ("John", "PER"), ("Spain", "LOC"), ("Madrid", "LOC")],
        [("Maria", "PER"), ("Spanien", "LOC", 0.8, 2), ("Madrid", "LOC", 0.9, 3)],
        outcomes=[(0, "projected", ""), (1, "dropped", "no aligned tokens"), (2, "projected", ""),
                  (3, "projected", "")]),
    Row("lowconf-1", "The United Nations sent observers to the region last month.",
        "Die Vereinten Nationen haben letzten Monat Beobachter in die Region entsandt.",
        [("United Nations", "ORG")], [("Vereinten Nationen", "ORG", 0.2, 0)]),
    Row("spanlen-1", "Siemens announced record profits for the third quarter.",
        "Siemens gab Rekordgewinne für das dritte Quartal bekannt.",
        [("Siemens", "ORG")], [("Siemens gab Rekordgewinne für das dritte", "ORG", 0.9, 0)]),
    Row("dup-1", "Angela Merkel visited Paris on Monday with her team.",
        "Angela Merkel besuchte am Montag mit ihren Beratern Paris.",
        [("Angela Merkel", "PER"), ("Paris", "LOC")], [("Angela Merkel", "PER"), ("Paris", "LOC")]),
    Row("near-1", "The European Commission approved the new budget yesterday, he said.",
        "Die Europäische Kommission hat gestern den neuen Haushalt gebilligt, sagte er.",
        [("European Commission", "ORG")], [("Europäische Kommission", "ORG")]),
    # same translation as lowmt-1, which mt-score.v1 rejects: not a duplicate of a kept example
    Row("lowmt-dup", "Mr Smith thanked the rapporteur for his very good work.",
        "Herr Smith dankte dem Berichterstatter für seine hervorragende Arbeit.",
        [("Smith", "PER")], [("Smith", "PER")]),
]

#: ids each filter rejects among ROWS with default options (all filters run together).
EXPECTED_REJECTS = {
    "length-ratio.v1": {"long-1"},
    "langid.v1": {"french-1", "copy-1"},
    "copy.v1": {"copy-1"},
    "repeat-ngram.v1": {"loop-1"},
    "mt-score.v1": {"lowmt-1"},
    "projection-complete.v1": {"dropped-1"},
    "span-confidence.v1": {"lowconf-1"},
    "span-length.v1": {"spanlen-1"},
    "duplicate.v1": {"dup-1"},
    "near-duplicate.v1": {"dup-1", "near-1"},
}
