"""markers.v1: parsing (fuzzed), label assignment, escaping, vocabulary check, known-answer model."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projectors import get
from projectors.base import Pair
from projectors.markers import BRACKETS, CURLY, MarkerSet, insert_markers, parse_markers
from projectors.mtbase import VocabularyError, tokenize
from tests.fixtures.mt import known_answer, translate_words


@pytest.fixture(scope="module")
def ka(tmp_path_factory):
    return known_answer(tmp_path_factory)


class DictTranslator:
    """A pure-Python stand-in used only for parser-level tests that need a scripted output;
    the end-to-end tests below use the real CTranslate2 known-answer model."""

    def __init__(self, outputs, vocab_missing=()):
        self.outputs = list(outputs)
        self.missing = set(vocab_missing)
        self.calls = []

    def translate(self, texts):
        self.calls.append(list(texts))
        return [self.outputs.pop(0) for _ in texts]

    def unknown(self, strings):
        return [s for s in strings if s in self.missing]


def test_tokenize_matches_workbench():
    from workbench.core.records import tokenize as wb_tokenize

    for text in ["Hello, world! It's 3.5 km.", "在巴黎住", "a-b c'd ‹x› [y]", ""]:
        assert tokenize(text) == wb_tokenize(text)
        assert tokenize(text, {2}) == wb_tokenize(text, {2})


def test_insert_and_parse_round_trip():
    text = "John Smith lives in New York ."
    spans = [(0, 10, "PER"), (20, 28, "LOC")]
    marked = insert_markers(text, spans, BRACKETS)
    assert marked == "[ John Smith ] lives in [ New York ] ."
    clean, segs = parse_markers(marked, BRACKETS)
    assert clean == text
    assert [clean[g.start:g.end] for g in segs] == ["John Smith", "New York"]
    typed = insert_markers(text, spans, None)
    assert typed == "<PER> John Smith </PER> lives in <LOC> New York </LOC> ."
    clean, segs = parse_markers(typed.replace("<LOC>", "＜loc＞"), None, ["PER", "LOC"])
    assert clean == text and [(g.label, clean[g.start:g.end]) for g in segs] == [
        ("PER", "John Smith"), ("LOC", "New York")]


@pytest.mark.parametrize("out,clean,segs", [
    ("Er wohnt in 【 New York 】.", "Er wohnt in New York.", ["New York"]),
    ("Er wohnt in《New York》.", "Er wohnt in New York.", ["New York"]),
    ("das[Haus]ist", "das Haus ist", ["Haus"]),
    ("in [ [ New York ] City ] heute", "in New York City heute", ["New York City", "New York"]),
    ("unbalanced [ New York heute", "unbalanced New York heute", []),
    ("] stray [ x ] ]", "stray x", ["x"]),
    ("在［巴黎］住", "在巴黎住", ["巴黎"]),
])
def test_parse_variants(out, clean, segs):
    c, gs = parse_markers(out, BRACKETS)
    assert c == clean
    assert [c[g.start:g.end] for g in gs] == segs


_noise = st.sampled_from(list("[]［］【】《》〔〕{}<>/ ") + ["<PER>", "</PER>", "<LOC>", "</loc>", "[ ", " ]"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(words=st.lists(st.sampled_from(["Haus", "New", "York", "ist", "在", "巴黎", ",", "."]), min_size=1, max_size=8),
       noise=st.lists(st.tuples(st.integers(0, 40), _noise), max_size=8),
       typed=st.booleans())
def test_parse_fuzz_never_crashes_never_misreads(words, noise, typed):
    text = " ".join(words)
    for pos, tok in noise:
        p = min(pos, len(text))
        text = text[:p] + tok + text[p:]
    ms = None if typed else BRACKETS
    clean, segs = parse_markers(text, ms, ["PER", "LOC"])
    for g in segs:
        assert 0 <= g.start < g.end <= len(clean)
        assert clean[g.start:g.end].strip() == clean[g.start:g.end]
    # no marker of the set survives in the clean text
    if not typed:
        assert not any(c in clean for c in BRACKETS.chars())
    # text without any marker character is returned unchanged
    plain = " ".join(words)
    assert parse_markers(plain, ms, ["PER", "LOC"]) == (plain, [])


@settings(max_examples=200, deadline=None)
@given(out=st.text(alphabet=st.sampled_from(list("ab [](){}【】《》<>/PERLOC ")), max_size=40))
def test_projector_fuzz_every_span_gets_an_outcome(out):
    pair = Pair("John lives in Paris .".split(), [], [(0, 1, "PER"), (3, 4, "LOC")])
    proj = get("markers.v1", translator=DictTranslator([out])).project([pair])[0]
    assert sorted(s.source for s in proj.spans) == [0, 1]
    for s in proj.spans:
        assert s.outcome in ("projected", "dropped")
        if s.outcome == "dropped":
            assert s.reason
        else:
            assert 0 <= s.token_start < s.token_end <= len(proj.tgt_tokens)
            a, b = proj.tgt_offsets[s.token_start][0], proj.tgt_offsets[s.token_end - 1][1]
            assert proj.tgt_text[a:b].strip() == proj.tgt_text[a:b]


def test_assignment_by_order_and_by_fuzzy_match():
    pair = Pair("John met Mary in Paris .".split(), [], [(0, 1, "PER"), (2, 3, "PER"), (4, 5, "LOC")])
    # same count: by order
    tr = DictTranslator(["[ Johann ] traf [ Maria ] in [ Paris ] ."])
    p = get("markers.v1", translator=tr).project([pair])[0]
    got = {s.source: " ".join(p.tgt_tokens[s.token_start:s.token_end]) for s in p.spans}
    assert got == {0: "Johann", 1: "Maria", 2: "Paris"}
    # reordered and one marker pair lost: fuzzy match places Paris and Mary, John is dropped
    tr = DictTranslator(["In [ Paris ] traf Johann [ Mary ] ."])
    p = get("markers.v1", translator=tr).project([pair])[0]
    by = {s.source: s for s in p.spans}
    assert by[0].outcome == "dropped" and "threshold" in by[0].reason
    assert " ".join(p.tgt_tokens[by[1].token_start:by[1].token_end]) == "Mary"
    assert " ".join(p.tgt_tokens[by[2].token_start:by[2].token_end]) == "Paris"


def test_typed_markers_assign_by_label():
    pair = Pair("John lives in Paris .".split(), [], [(0, 1, "PER"), (3, 4, "LOC")])
    tr = DictTranslator(["In <LOC> Paris </LOC> wohnt <PER> Johann </PER> ."])
    p = get("markers.v1", translator=tr, typed=True).project([pair])[0]
    got = {s.label: " ".join(p.tgt_tokens[s.token_start:s.token_end]) for s in p.spans}
    assert got == {"PER": "Johann", "LOC": "Paris"}
    assert tr.calls == [["<PER> John </PER> lives in <LOC> Paris </LOC> ."]]


def test_source_with_brackets_uses_alternative_markers():
    pair = Pair("The [ draft ] by Mary .".split(), [], [(5, 6, "PER")])
    tr = DictTranslator(["Der [ Entwurf ] von { Maria } ."])
    p = get("markers.v1", translator=tr).project([pair])[0]
    assert tr.calls[0] == ["The [ draft ] by { Mary } ."]
    assert p.tgt_text == "Der [ Entwurf ] von Maria ."  # the source's brackets are text, kept
    s = p.spans[0]
    assert s.outcome == "projected" and p.tgt_tokens[s.token_start:s.token_end] == ["Maria"]
    # every marker set occurs in the source: not marked, dropped with a reason (never misread)
    pair = Pair("a [ b ] { c } d".split(), [], [(0, 1, "X")])
    p = get("markers.v1", translator=DictTranslator([])).project([pair])[0]
    assert p.spans[0].outcome == "dropped" and "every marker set" in p.spans[0].reason


def test_vocabulary_check_fails_clearly():
    with pytest.raises(VocabularyError, match="not in the translation model's vocabulary"):
        get("markers.v1", translator=DictTranslator([], vocab_missing={"["}))
    # an unknown alternative set is silently unused
    p = get("markers.v1", translator=DictTranslator([], vocab_missing={"{"}))
    assert p.markers == [BRACKETS]
    with pytest.raises(VocabularyError, match="typed markers"):
        get("markers.v1", translator=DictTranslator([], vocab_missing={"<PER>"}), typed=True).project(
            [Pair(["John"], [], [(0, 1, "PER")])])


def test_fallback_projector_records_fallback():
    class Identity:  # a minimal projector: same token range (a real alignment projector in use)
        name = "identity.test"

        def project(self, pairs):
            from projectors.base import ProjectedSpan, Projection

            return [Projection([ProjectedSpan(i, lab, "projected", s, e, 0.5)
                                for i, (s, e, lab) in enumerate(p.spans)]) for p in pairs]

    pair = Pair("John lives in Paris .".split(), [], [(0, 1, "PER"), (3, 4, "LOC")])
    tr = DictTranslator(["Johann wohnt in [ Paris ] ."])
    p = get("markers.v1", translator=tr, fallback=Identity()).project([pair])[0]
    by = {s.source: s for s in p.spans}
    assert by[1].outcome == "projected"
    assert by[0].outcome == "fallback" and "identity.test" in by[0].reason
    assert p.tgt_tokens[by[0].token_start:by[0].token_end] == ["Johann"]


# -- known-answer model (real CTranslate2) ----------------------------------------------------
CASES = [
    ("John Smith lives in New York .", [(0, 2, "PER"), (4, 6, "LOC")]),
    ("the old city of London is big .", [(4, 5, "LOC")]),
    ("Mary works for Acme in Paris , and John visited Berlin today .",
     [(0, 1, "PER"), (3, 4, "ORG"), (5, 6, "LOC"), (8, 9, "PER"), (10, 11, "LOC")]),
    ("the Bank of England met Mary .", [(1, 4, "ORG"), (5, 6, "PER")]),
]


def _expected(src: str, spans):
    words = src.split()
    return [" ".join(translate_words(w) for w in words[s:e]) for s, e, _ in spans]


@pytest.mark.parametrize("typed", [False, True])
def test_known_answer_markers(ka, typed):
    pairs = [Pair(s.split(), [], spans, s) for s, spans in CASES]
    proj = get("markers.v1", translator=ka, typed=typed).project(pairs)
    for (src, spans), p in zip(CASES, proj, strict=False):
        assert p.tgt_text == translate_words(src)
        got = [" ".join(p.tgt_tokens[s.token_start:s.token_end]) for s in sorted(p.spans, key=lambda s: s.source)]
        assert [s.outcome for s in p.spans] == ["projected"] * len(spans)
        assert got == _expected(src, spans)


def test_known_answer_markers_keep_target(ka):
    # translate-test direction: spans are written on a given target sentence
    src, spans = CASES[2]
    tgt = translate_words(src)
    pair = Pair(src.split(), tgt.split(), spans, src, tgt)
    p = get("markers.v1", translator=ka, keep_target=True).project([pair])[0]
    assert p.tgt_text is None
    got = [" ".join(tgt.split()[s.token_start:s.token_end]) for s in sorted(p.spans, key=lambda s: s.source)]
    assert got == _expected(src, spans)


def test_known_answer_vocabulary_check(ka):
    with pytest.raises(VocabularyError):
        get("markers.v1", translator=ka, markers=[MarkerSet("⟦", "⟧")])
    assert get("markers.v1", translator=ka, markers=[BRACKETS, CURLY]).markers == [BRACKETS, CURLY]


def test_entity_translated_alone_helps_matching():
    pair = Pair("Germany and France beat Spain .".split(), [],
                [(0, 1, "LOC"), (2, 3, "LOC"), (4, 5, "LOC")])
    out = "[ Deutschland ] und [ Frankreich ] schlagen Spanien ."  # one marker pair lost
    p = get("markers.v1", translator=DictTranslator([out])).project([pair])[0]
    # fuzzy evidence from the source text alone: France ~ Frankreich (0.62); Germany matches nothing
    assert [s.outcome for s in p.spans] == ["dropped", "projected", "dropped"]
    tr = DictTranslator([])
    tr.translate = lambda texts, _o=[[out], ["Frankreich", "Deutschland", "Spanien"]]: _o.pop(0)
    p = get("markers.v1", translator=tr, translate_entities=True).project([pair])[0]
    by = {s.source: s for s in p.spans}
    assert p.tgt_tokens[by[0].token_start:by[0].token_end] == ["Deutschland"]
    assert p.tgt_tokens[by[1].token_start:by[1].token_end] == ["Frankreich"]
    assert by[2].outcome == "dropped"


def test_adapter_counts_unknown_pieces_and_checks_language_tokens(ka):
    from workbench.core.errors import ModelError
    from workbench.mt.ct2 import CT2Model

    before = ka.unknown_pieces
    ka.translate(["the red house"])
    assert ka.unknown_pieces == before
    ka.translate(["the zzz house"])
    assert ka.unknown_pieces > before
    assert ka.unknown(["[", "zzz", "<PER>", "⟦"]) == ["zzz", "⟦"]
    with pytest.raises(ModelError, match="language token"):
        CT2Model(ka.model_dir, target_prefix=["deu_Latn"])
    with pytest.raises(ModelError, match="model.bin"):
        CT2Model(ka.model_dir.parent)


_WORDS = ["John", "Smith", "lives", "in", "New", "York", "Mary", "met", "the", "old", "city", ","]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_source_marker_characters_never_misread(ka, data):
    """Real model, random sentences that contain literal brackets / braces: every span gets an
    outcome, and a projected span is always the dictionary translation of its source words."""
    words = data.draw(st.lists(st.sampled_from(_WORDS + ["[", "]", "{", "}"]), min_size=1, max_size=12))
    cands = [i for i, w in enumerate(words) if w not in "[]{}"]
    starts = sorted(set(data.draw(st.lists(st.sampled_from(cands), max_size=3)))) if cands else []
    spans, end = [], 0
    for s in starts:
        if s >= end:
            e = s + 1
            while e < len(words) and words[e] not in "[]{}" and data.draw(st.booleans()):
                e += 1
            spans.append((s, e, data.draw(st.sampled_from(["PER", "LOC"]))))
            end = e
    src = " ".join(words)
    typed = data.draw(st.booleans())
    p = get("markers.v1", translator=ka, typed=typed).project([Pair(words, [], spans, src)])[0]
    assert sorted(s.source for s in p.spans) == list(range(len(spans)))
    for s in p.spans:
        a, b, _ = spans[s.source]
        if s.outcome == "projected":
            assert " ".join(p.tgt_tokens[s.token_start:s.token_end]) == translate_words(" ".join(words[a:b]))
        else:
            assert s.outcome == "dropped" and s.reason
            if not typed:  # only when the source holds characters of both marker sets
                assert any(c in src for c in "[]") and any(c in src for c in "{}")


def test_typed_with_tags_in_source_falls_back_to_brackets():
    pair = Pair("the <PER> tag for John".split(), [], [(4, 5, "PER")])
    tr = DictTranslator(["das <PER> Tag für [ Johann ]"])
    p = get("markers.v1", translator=tr, typed=True).project([pair])[0]
    assert tr.calls == [["the <PER> tag for [ John ]"]]
    assert p.tgt_text == "das <PER> Tag für Johann"
    s = p.spans[0]
    assert s.outcome == "projected" and p.tgt_tokens[s.token_start:s.token_end] == ["Johann"]
