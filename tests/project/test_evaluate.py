"""Evaluation metrics on hand-computed cases: exact-span P/R/F1 (seqeval conventions) and AER."""

from __future__ import annotations

import pytest

from workbench.core.errors import InputError
from workbench.project.evaluate import (
    alignment_scores,
    evaluate_alignment,
    evaluate_projection,
    read_links_file,
    span_scores,
)


def test_span_scores_exact_match_only():
    gold = [[(0, 2, "PER"), (3, 4, "LOC")], [(1, 2, "ORG")]]
    pred = [[(0, 2, "PER"), (3, 5, "LOC")], [(1, 2, "MISC")]]
    sc = span_scores(pred, gold)
    # 1 of 3 predicted spans is right; 1 of 3 gold spans found
    assert sc.overall.tp == 1 and sc.overall.n_pred == 3 and sc.overall.n_gold == 3
    assert sc.overall.precision == pytest.approx(1 / 3)
    assert sc.overall.f1 == pytest.approx(1 / 3)
    assert sc.by_label["PER"].f1 == 1.0
    assert sc.by_label["LOC"].f1 == 0.0
    assert sc.by_label["MISC"].n_pred == 1 and sc.by_label["MISC"].n_gold == 0
    d = sc.as_dict()
    assert d["overall"]["tp"] == 1 and set(d["by_label"]) == {"PER", "LOC", "ORG", "MISC"}


def test_span_scores_precision_recall_differ():
    sc = span_scores([[(0, 1, "PER")]], [[(0, 1, "PER"), (2, 3, "PER")]])
    assert (sc.overall.precision, sc.overall.recall) == (1.0, 0.5)
    assert sc.overall.f1 == pytest.approx(2 / 3)
    empty = span_scores([[]], [[]])
    assert empty.overall.f1 == 0.0


def test_span_scores_length_mismatch():
    with pytest.raises(InputError):
        span_scores([[]], [[], []])


def test_alignment_scores_hand_computed():
    # A = {1-1, 2-2, 2-3}; S = {1-1}; P = S + {2-2}
    A = [{(0, 0), (1, 1), (1, 2)}]
    S = [{(0, 0)}]
    P = [{(0, 0), (1, 1)}]
    sc = alignment_scores(A, S, P)
    assert sc.precision == pytest.approx(2 / 3)
    assert sc.recall == 1.0
    # AER = 1 - (|A&S| + |A&P|) / (|A| + |S|) = 1 - (1 + 2) / (3 + 1)
    assert sc.aer == pytest.approx(0.25)
    perfect = alignment_scores([{(0, 0)}], [{(0, 0)}], [{(0, 0)}])
    assert perfect.aer == 0.0


def test_files_and_one_indexing(tmp_path):
    gold = tmp_path / "g.gold"
    gold.write_text("1-1 2p2\n1-2\n")
    pred = tmp_path / "p.txt"
    pred.write_text("0-0 1-1\n0-1\n")  # 0-indexed prediction: detected
    sc = evaluate_alignment(pred, gold)
    assert sc.aer == 0.0 and sc.n_sentences == 2
    sure, poss = read_links_file(gold, one_indexed=True)
    assert sure == [{(0, 0)}, {(0, 1)}] and poss == [{(0, 0), (1, 1)}, {(0, 1)}]
    bad = tmp_path / "bad.txt"
    bad.write_text("1-1 oops\n")
    with pytest.raises(InputError) as exc:
        read_links_file(bad)
    assert "bad.txt:1" in str(exc.value)
    short = tmp_path / "short.txt"
    short.write_text("0-0\n")
    with pytest.raises(InputError):
        evaluate_alignment(short, gold)


def test_evaluate_projection_files(tmp_path):
    gold = tmp_path / "gold.conll"
    gold.write_text("Anna\tB-PER\nlebt\tO\nin\tO\nBad\tB-LOC\nEms\tI-LOC\n\nJa\tO\n\n")
    pred = tmp_path / "pred.conll"
    pred.write_text("Anna\tB-PER\nlebt\tO\nin\tO\nBad\tB-LOC\nEms\tO\n\nJa\tB-ORG\n\n")
    sc = evaluate_projection(pred, gold)
    assert sc.overall.tp == 1 and sc.overall.n_pred == 3 and sc.overall.n_gold == 2
    other = tmp_path / "other.conll"
    other.write_text("Anna\tB-PER\n\n")
    with pytest.raises(InputError):
        evaluate_projection(other, gold)


def test_eval_cli(tmp_path):
    from typer.testing import CliRunner

    from workbench.cli import app

    gold = tmp_path / "g.gold"
    gold.write_text("1-1 2p2 3-3\n", encoding="utf-8")
    pred = tmp_path / "p.txt"
    pred.write_text("1-1 2-2\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["eval", "alignment", "--pred", str(pred), "--gold", str(gold), "--json"])
    assert res.exit_code == 0, res.output
    import json

    d = json.loads(res.output)
    # A={1-1,2-2} S={1-1,3-3} P=S+{2-2}: precision 1, recall 1/2, AER 1 - (1+2)/(2+2)
    assert d["precision"] == 1.0 and d["recall"] == 0.5 and abs(d["aer"] - 0.25) < 1e-9
    res = CliRunner().invoke(app, ["eval", "alignment", "--pred", str(pred), "--gold", str(tmp_path / "none")])
    assert res.exit_code == 1 and "cannot read" in res.output
    conll = tmp_path / "x.conll"
    conll.write_text("Anna\tB-PER\n\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["eval", "projection", "--pred", str(conll), "--gold", str(conll)])
    assert res.exit_code == 0 and "overall" in res.output and "100.00" in res.output
