"""Spans from links, span repair, token maps and symmetrisation on hand-made cases."""

from __future__ import annotations

import pytest

from projectors.spans import (
    SpanOptions,
    blocks,
    is_punct,
    lexical_similarity,
    project_spans,
    split_unspaced,
    word_spans_of_pieces,
)
from projectors.word_alignment import combine_runs, format_links, parse_links, symmetrise


def proj(src, tgt, spans, links, **opts):
    res = project_spans(src.split(), tgt.split() if isinstance(tgt, str) else tgt, spans, links,
                        SpanOptions(**opts))
    return [(r.outcome, r.start, r.end, r.label) for r in res], res


def test_hull_of_aligned_tokens_reordered():
    # the European Parliament -> il Parlamento europeo (adjective after the noun)
    out, res = proj("the European Parliament met", "il Parlamento europeo si riunì", [(1, 3, "ORG")],
                    {(0, 0): 1.0, (1, 2): 1.0, (2, 1): 1.0, (3, 4): 1.0})
    assert out == [("projected", 1, 3, "ORG")]
    assert 0 < res[0].score <= 1


def test_every_span_gets_an_outcome_with_reason():
    out, res = proj("Anna met Bob", "Anna traf", [(0, 1, "PER"), (2, 3, "PER")], {(0, 0): 1.0, (1, 1): 1.0})
    assert out[0] == ("projected", 0, 1, "PER")
    assert out[1][0] == "dropped" and res[1].reason


def test_empty_target_drops_everything():
    out, res = proj("Anna met Bob", [], [(0, 1, "PER"), (2, 3, "PER")], {})
    assert [o[0] for o in out] == ["dropped", "dropped"]
    assert all(r.reason == "empty target" for r in res)


def test_lexical_evidence_finds_unaligned_names_and_numbers():
    # no links at all: identical name and number still project
    out, _ = proj("Mr Ponnambalam said 1999", "Herr Ponnambalam sagte 1999", [(1, 2, "PER"), (3, 4, "MISC")], {})
    assert out == [("projected", 1, 2, "PER"), ("projected", 3, 4, "MISC")]
    out, _ = proj("Mr Ponnambalam said", "Herr Ponnambalam sagte", [(1, 2, "PER")], {}, lexical=False)
    assert out[0][0] == "dropped"


def test_lexical_identity_beats_a_stray_link():
    # the aligner linked Paris to 'gestern'; the verbatim 'Paris' wins
    out, _ = proj("visited Paris yesterday", "besuchte gestern Paris", [(1, 2, "LOC")], {(1, 1): 0.9, (0, 0): 1.0})
    assert out == [("projected", 2, 3, "LOC")]


def test_edge_punctuation_is_trimmed():
    out, _ = proj("in Paris .", "à Paris .", [(1, 2, "LOC")], {(1, 1): 1.0, (1, 2): 1.0}, lexical=False)
    assert out == [("projected", 1, 2, "LOC")]
    out, _ = proj("in Paris .", "à Paris .", [(1, 2, "LOC")], {(1, 1): 1.0, (1, 2): 1.0}, trim_punct=False,
                  lexical=False)
    assert out == [("projected", 1, 3, "LOC")]


def test_foreign_edge_token_is_trimmed():
    # 'des' is linked more strongly to 'of' (outside the span) than to 'Parliament'
    out, _ = proj("work of Parliament", "Arbeit des Parlaments", [(2, 3, "ORG")],
                  {(0, 0): 1.0, (1, 1): 0.9, (2, 1): 0.6, (2, 2): 1.0})
    assert out == [("projected", 2, 3, "ORG")]


def test_discontinuous_blocks_keep_the_best_supported():
    # 'European Union' -> links to 'Unione europea' and a stray far link for 'European'
    out, _ = proj("the European Union and others", "l' Unione europea e altri paesi europei",
                  [(1, 3, "ORG")], {(1, 2): 1.0, (2, 1): 1.0, (1, 6): 0.6}, gap=1)
    assert out == [("projected", 1, 3, "ORG")]


def test_gap_tolerance_bridges_unaligned_function_words():
    links = {(0, 0): 1.0, (2, 3): 1.0}
    assert proj("Committee Agriculture", "commissione per l' agricoltura", [(0, 2, "ORG")],
                {(0, 0): 1.0, (1, 3): 1.0}, gap=2)[0] == [("projected", 0, 4, "ORG")]
    out, _ = proj("Committee Agriculture", "commissione per l' agricoltura", [(0, 2, "ORG")],
                  {(0, 0): 1.0, (1, 3): 1.0}, gap=0, lexical=False)
    assert out[0][0] == "projected" and out[0][2] - out[0][1] == 1
    assert links  # unused helper kept readable


def test_overlapping_projections_resolved_by_score():
    # both spans claim target token 1; the better-supported one keeps it
    out, res = proj("Anna Smith and Bob", "Anna Smith e Bob", [(0, 2, "PER"), (3, 4, "PER")],
                    {(0, 0): 1.0, (1, 1): 1.0, (3, 1): 0.55}, lexical=False)
    assert out[0] == ("projected", 0, 2, "PER")
    assert out[1][0] == "dropped" and "overlaps" in res[1].reason


def test_growth_over_weak_links_to_uncovered_words():
    # 'Fund' has only a weak link to 'Fondo'; the span grows to cover it
    links = {(1, 2): 1.0, (2, 1): 1.0, (3, 0): 0.3}
    out, _ = proj("European Social Fund", "Fondo sociale europeo", [(0, 3, "ORG")],
                  {(0, 2): 1.0, (1, 1): 1.0, (2, 0): 0.3})
    assert out == [("projected", 0, 3, "ORG")]
    out, _ = proj("European Social Fund", "Fondo sociale europeo", [(0, 3, "ORG")],
                  {(0, 2): 1.0, (1, 1): 1.0, (2, 0): 0.3}, grow=False)
    assert out == [("projected", 1, 3, "ORG")]
    # a weak link to a small-letter verb does not grow a capitalised name
    out, _ = proj("the Cohesion Fund supports", "der Kohäsionsfonds fördert", [(1, 3, "ORG")],
                  {(1, 1): 1.0, (2, 2): 0.3})
    assert out == [("projected", 1, 2, "ORG")]
    assert links


def test_out_of_range_links_are_ignored():
    out, _ = proj("Anna", "Anna", [(0, 1, "PER")], {(0, 5): 1.0, (7, 0): 1.0, (0, 0): 1.0})
    assert out == [("projected", 0, 1, "PER")]


def test_much_longer_and_shorter_targets():
    src = "Berlin is big".split()
    long_tgt = ["x"] * 200 + ["Berlin"] + ["y"] * 200
    res = project_spans(src, long_tgt, [(0, 1, "LOC")], {})
    assert (res[0].outcome, res[0].start, res[0].end) == ("projected", 200, 201)
    res = project_spans(["w"] * 100 + ["Oslo"], ["Oslo"], [(100, 101, "LOC"), (0, 3, "MISC")], {})
    assert (res[0].outcome, res[0].start) == ("projected", 0)
    assert res[1].outcome == "dropped"


def test_unusual_unicode():
    src = ["Zoë", "visited", "Ḱraków", "\u200b", "👍"]
    tgt = ["Zoë", "besuchte", "Kraków", "\u200b", "👍"]
    res = project_spans(src, tgt, [(0, 1, "PER"), (2, 3, "LOC")], {(1, 1): 1.0})
    assert [(r.start, r.end) for r in res] == [(0, 1), (2, 3)]
    assert lexical_similarity("Ḱraków", "Kraków") == 0.9  # same up to accents


def test_lexical_similarity_cases():
    assert lexical_similarity("Paris", "Paris") == 1.0
    assert lexical_similarity("EU", "eu") == 0.95
    assert lexical_similarity("1999", "1999") == 1.0
    assert lexical_similarity("1999", "2000") == 0.0
    assert 0.75 <= lexical_similarity("Europe", "Europa") < 0.9
    assert lexical_similarity("the", "der") == 0.0
    assert lexical_similarity(",", ",") == 0.0
    assert is_punct("„") and is_punct("--") and not is_punct("a-")


def test_split_unspaced_and_maps():
    toks, owner = split_unspaced(["我住在东京", "Tokyo", "ABC漢字"])
    assert toks == ["我", "住", "在", "东", "京", "Tokyo", "ABC", "漢", "字"]
    assert owner == [0, 0, 0, 0, 0, 1, 2, 2, 2]
    toks, owner = split_unspaced(["สวัสดี"])
    assert len(toks) == 6 and set(owner) == {0}
    assert word_spans_of_pieces([None, 0, 0, 1, None, 5], 3) == [[1, 2], [3], []]
    assert word_spans_of_pieces([None, 0], 0) == []
    assert blocks([5, 1, 2, 7], 1) == [[1, 2], [5, 7]]


def test_cjk_target_characters():
    # a Chinese target tokenised into characters: the name maps to its two characters
    res = project_spans(["I", "live", "in", "Tokyo"], list("我住在东京"), [(3, 4, "LOC")],
                        {(0, 0): 1.0, (1, 1): 1.0, (3, 3): 1.0, (3, 4): 1.0})
    assert (res[0].start, res[0].end) == (3, 5)


def test_symmetrisation_heuristics():
    f = {(0, 0), (1, 1), (2, 1)}
    r = {(0, 0), (1, 1), (1, 2)}
    assert symmetrise(f, r, "intersection") == {(0, 0), (1, 1)}
    assert symmetrise(f, r, "union") == f | r
    assert symmetrise(f, r, "grow-diag") == f | r
    assert symmetrise({(0, 0), (2, 2)}, {(0, 0), (2, 0)}, "grow-diag-final-and") == {(0, 0), (2, 2)}
    assert symmetrise({(0, 0), (2, 2)}, {(0, 0), (1, 2)}, "grow-diag-final-and") == {(0, 0), (2, 2)}
    assert symmetrise({(0, 0), (2, 2)}, {(0, 0), (1, 2)}, "grow-diag-final") == {(0, 0), (2, 2), (1, 2)}
    with pytest.raises(ValueError):
        symmetrise(f, r, "nope")


def test_combine_runs_majority_and_scores():
    runs = [([{(0, 0), (1, 1)}], [{(0, 0)}]), ([{(0, 0), (1, 1)}], [{(0, 0), (1, 1)}]),
            ([{(0, 0), (1, 2)}], [{(0, 0)}])]
    links = combine_runs(runs, "intersection", 0.5)[0]
    assert links[(0, 0)] == 1.0  # in all runs, both directions: sure
    assert (1, 2) not in links  # one run of three: noise
    assert 0 < links[(1, 1)] < 0.5  # a forward majority only: a weak candidate
    assert combine_runs(runs, "union", 0.5)[0][(1, 1)] > 0.5
    assert combine_runs([], "intersection") == []


def test_parse_and_format_links():
    sure, poss = parse_links("1-1 2p3 3-2", one_indexed=True)
    assert sure == {(0, 0), (2, 1)} and poss == {(0, 0), (1, 2), (2, 1)}
    assert format_links({(0, 0), (2, 1)}, one_indexed=True) == "1-1 3-2"
    with pytest.raises(ValueError):
        parse_links("1x2")


def test_transliterated_names_match_across_scripts():
    from projectors.spans import translit_similarity

    assert translit_similarity("Obama", "Обамы") >= 0.75
    assert translit_similarity("Obama", "奧巴馬") >= 0.75
    assert translit_similarity("Schulman", "Шульман") >= 0.75
    assert translit_similarity("Obama", "Berlin") == 0  # Latin targets: the ordinary rules
    for a, b in (("Obama", "президента"), ("Trump", "特別"), ("Obama", "總統")):
        assert translit_similarity(a, b) == 0


def test_translit_and_cjk_edges_in_projection():
    from projectors.spans import SpanOptions, project_spans

    src = "Kori Schulman met Obama .".split()
    tgt = ["科瑞", "·", "舒爾曼", "見", "了", "奧巴馬", "。"]
    on = SpanOptions(translit=True, cjk_edges=True)
    # no links at all: transliteration alone finds the names; the middle dot keeps 科瑞 · 舒爾曼 whole
    res = project_spans(src, tgt, [(0, 2, "PER"), (3, 4, "PER")], {}, on)
    assert [(r.start, r.end) for r in res] == [(0, 3), (5, 6)]
    assert all(r.outcome == "dropped" for r in project_spans(src, tgt, [(3, 4, "PER")], {}, SpanOptions()))
    # a lone function character at a span edge is trimmed
    res = project_spans(["Obama"], ["的", "奧巴馬"], [(0, 1, "PER")], {(0, 0): 0.9, (0, 1): 0.9}, on)
    assert (res[0].start, res[0].end) == (1, 2)


def test_the_unspaced_regex_matches_is_unspaced_on_every_code_point():
    # split_unspaced scans a sentence with one regex; it must agree with is_unspaced everywhere
    from projectors.spans import _UNSPACED, is_unspaced

    bad = [hex(o) for o in range(0x110000)
           if not 0xD800 <= o <= 0xDFFF and bool(_UNSPACED.match(chr(o))) != is_unspaced(chr(o))]
    assert bad == []
