"""Tiny translation models built offline, one per family, for the translate tests.

A sentencepiece model is trained on ``tests/data/translate_sentences.txt``; randomly initialised
Hugging Face models (Marian, M2M-100, NLLB = M2M-100 architecture with FLORES language tokens,
T5 with MADLAD ``<2xx>`` tokens) are saved with a word-level ``tokenizer.json`` holding exactly the
vocabulary, then converted with :func:`workbench.mt.models.convert` (CTranslate2's
TransformersConverter). Weights use std 0.3 so outputs vary; random models never emit ``</s>``,
so tests bound ``max_decoding_length``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
SENTENCES = DATA / "translate_sentences.txt"

LANG_TOKENS = {
    "marian": [">>deu<<", ">>spa<<", ">>fra<<"],
    "m2m100": ["__en__", "__de__", "__es__", "__fr__"],
    "nllb": ["eng_Latn", "deu_Latn", "spa_Latn", "fra_Latn"],
    "madlad": ["<2en>", "<2de>", "<2es>", "<2fr>"],
}
MAX_POSITIONS = 64  # small, so that the over-long input test is cheap


def train_spm(out_dir: Path, vocab_size: int = 200) -> tuple[bytes, list[str]]:
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        input=str(SENTENCES), model_writer=buf, vocab_size=vocab_size, model_type="bpe",
        character_coverage=1.0, minloglevel=2, hard_vocab_limit=False)
    proto = buf.getvalue()
    sp = spm.SentencePieceProcessor(model_proto=proto)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())
              if sp.id_to_piece(i) not in ("<unk>", "<s>", "</s>")]
    return proto, pieces


def _write_tokenizer(d: Path, vocab: list[str], specials: dict[str, str]) -> None:
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel

    tok = Tokenizer(WordLevel({t: i for i, t in enumerate(vocab)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(d / "tokenizer.json"))
    (d / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": MAX_POSITIONS, **specials}))


def _randomize(model, std: float = 1.0, seed: int = 0) -> None:
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                continue
            p.copy_(torch.randn(p.shape, generator=g) * std)


def build_hf_model(family: str, out_dir: Path, *, multi_target: bool = True, d_model: int = 32,
                   layers: int = 2, heads: int = 2, ffn: int = 64, seed: int = 0) -> Path:
    """Save a random Hugging Face model of ``family`` with its tokenizer files to ``out_dir``."""
    import transformers

    out_dir.mkdir(parents=True, exist_ok=True)
    proto, pieces = train_spm(out_dir)
    langs = LANG_TOKENS[family] if (family != "marian" or multi_target) else []
    if family == "marian":
        (out_dir / "source.spm").write_bytes(proto)
        (out_dir / "target.spm").write_bytes(proto)
        vocab = ["</s>", "<unk>"] + pieces + langs + ["<pad>"]
        cfg = transformers.MarianConfig(
            vocab_size=len(vocab), d_model=d_model, encoder_layers=layers, decoder_layers=layers,
            encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=ffn,
            decoder_ffn_dim=ffn, max_position_embeddings=MAX_POSITIONS, pad_token_id=len(vocab) - 1,
            eos_token_id=0, decoder_start_token_id=len(vocab) - 1, init_std=0.3)
        model = transformers.MarianMTModel(cfg)
        specials = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    elif family in ("m2m100", "nllb"):
        (out_dir / "sentencepiece.bpe.model").write_bytes(proto)
        vocab = ["<s>", "<pad>", "</s>", "<unk>"] + pieces + langs
        cfg = transformers.M2M100Config(
            vocab_size=len(vocab), d_model=d_model, encoder_layers=layers, decoder_layers=layers,
            encoder_attention_heads=heads, decoder_attention_heads=heads, encoder_ffn_dim=ffn,
            decoder_ffn_dim=ffn, max_position_embeddings=MAX_POSITIONS, pad_token_id=1,
            bos_token_id=0, eos_token_id=2, decoder_start_token_id=2, init_std=0.3)
        model = transformers.M2M100ForConditionalGeneration(cfg)
        specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    elif family == "madlad":
        (out_dir / "spiece.model").write_bytes(proto)
        vocab = ["<pad>", "</s>", "<unk>"] + pieces + langs
        cfg = transformers.T5Config(
            vocab_size=len(vocab), d_model=d_model, d_kv=d_model // heads, d_ff=ffn, num_layers=layers,
            num_decoder_layers=layers, num_heads=heads, feed_forward_proj="gated-gelu",
            pad_token_id=0, eos_token_id=1, decoder_start_token_id=0, tie_word_embeddings=False)
        model = transformers.T5ForConditionalGeneration(cfg)
        specials = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    else:
        raise ValueError(family)
    _randomize(model, seed=seed)
    model.save_pretrained(out_dir)
    _write_tokenizer(out_dir, vocab, specials)
    return out_dir


@pytest.fixture(scope="session")
def model_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wb-models")


@pytest.fixture(scope="session")
def hf_models(tmp_path_factory) -> dict[str, Path]:
    """Random Hugging Face model directories: marian, marian-pair, m2m100, nllb, madlad."""
    pytest.importorskip("transformers", reason="building test models needs workbench[convert]")
    pytest.importorskip("torch", reason="building test models needs workbench[convert]")
    root = tmp_path_factory.mktemp("hf")
    out = {f: build_hf_model(f, root / f"tiny-{f}") for f in LANG_TOKENS}
    out["marian-pair"] = build_hf_model("marian", root / "tiny-opus-en-de", multi_target=False)
    return out


@pytest.fixture(scope="session")
def ct2_models(hf_models, model_home) -> dict[str, Path]:
    """The same models converted to CTranslate2 (int8) with workbench.mt.models.convert."""
    from workbench.mt.models import convert

    return {k: convert(p, quantization="int8", home=model_home) for k, p in hf_models.items()}
