"""The tiny randomly initialised BERT of the SimAlign tests (CPU and GPU), built offline."""

from __future__ import annotations

from pathlib import Path

WORDS = ["the", "european", "parliament", "met", "in", "paris", "anna", "visited", "berlin", "today",
         "das", "parlament", "tagte", "besuchte", "heute", ".", ",", "東", "京", "merkel"]


def build_tiny_bert(d: Path) -> str:
    """Save a 2-layer BERT (hidden 32) with a word-level vocabulary of :data:`WORDS` to ``d``."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS + ["##s", "##ed", "##ing", "mer", "##kel"]
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tok = BertTokenizerFast(vocab_file=str(d / "vocab.txt"), do_lower_case=True)
    tok.save_pretrained(str(d))
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=48, max_position_embeddings=64)
    BertModel(cfg).eval().save_pretrained(str(d))
    return str(d)
