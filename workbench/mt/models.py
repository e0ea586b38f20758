"""Translation models: opening, loading, conversion and the model cache.

A model is a CTranslate2 directory, its tokenizer and its family
(:mod:`workbench.mt.families`: how the model marks languages).

Converted models live in ``$WORKBENCH_HOME`` (default ``~/.cache/workbench/models``), one
CTranslate2 directory each, with the tokenizer files alongside and a ``workbench.json`` recording
the family, the source model and the input limit. The download (``huggingface_hub``) is the only
network step.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.errors import ModelError
from workbench.mt.families import FAMILIES, Family, detect_family, pair_from_name, parse_pair

__all__ = ["Model", "ModelInfo", "convert", "list_models", "load_model", "locate_model", "models_home",
           "open_model", "position_table"]

#: tokenizer files copied next to a converted model (those that exist).
TOKENIZER_FILES = ("source.spm", "target.spm", "sentencepiece.bpe.model", "spiece.model",
                   "sentencepiece.model", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json", "vocab.json", "generation_config.json")
MARKER = "workbench.json"


def models_home() -> Path:
    """``$WORKBENCH_HOME`` or ``~/.cache/workbench/models``."""
    return Path(os.environ.get("WORKBENCH_HOME") or Path.home() / ".cache" / "workbench" / "models")


# -- loaded models --------------------------------------------------------------------------------
@dataclass
class Model:
    """A CTranslate2 model directory with its tokenizer and family.

    Attributes:
        path: the CTranslate2 directory.
        name: the model id (Hugging Face id or directory name).
        family: the :class:`Family` instance (language tokens, sequence layout).
        max_input_length: most source tokens the model can take (position limit), special
            tokens included.
    """

    path: Path
    name: str
    family: Family
    max_input_length: int
    info: dict[str, Any] = field(default_factory=dict)
    #: rows of the model's position table (the longest sequence it can encode or decode), if any
    max_positions: int | None = None
    _sp_src: Any = None
    _sp_tgt: Any = None
    _hash: str | None = None
    _keep: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)

    def encode(self, text: str) -> list[str]:
        """Sentencepiece pieces of a source text."""
        return self._sp_src.encode(text, out_type=str)

    def encode_batch(self, texts: list[str]) -> list[list[str]]:
        """:meth:`encode` of many texts in one sentencepiece call (its own threads)."""
        return self._sp_src.encode(texts, out_type=str) if texts else []

    def decode(self, tokens: list[str]) -> str:
        """Text of output pieces (language and special tokens dropped)."""
        keep = self._keep
        toks = [t for t in tokens if keep.get(t) or (t not in keep and self._keeps(t))]
        return self._sp_tgt.decode_pieces(toks)

    def _keeps(self, piece: str) -> bool:
        # decided once per piece of the vocabulary: a regex per output piece cost more than the
        # decoding itself with a fast model
        keep = self._keep[piece] = (piece not in ("</s>", "<s>", "<pad>")
                                    and not self.family.token_re.match(piece))
        return keep

    def content_hash(self) -> str:
        """sha256 (12 hex) of the weights, vocabularies and config; memoised in the directory."""
        if self._hash:
            return self._hash
        files = sorted(p for p in self.path.iterdir() if p.is_file() and (
            p.name == "model.bin" or p.name.endswith("vocabulary.json")
            or p.name.endswith("vocabulary.txt") or p.name in ("config.json",) + TOKENIZER_FILES))
        stamp = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]
        memo = self.path / ".workbench-hash.json"
        try:
            saved = json.loads(memo.read_text())
            if saved.get("stamp") == json.loads(json.dumps(stamp)):
                self._hash = saved["hash"]
                return self._hash  # type: ignore[return-value]
        except (OSError, ValueError, KeyError):
            pass
        h = hashlib.sha256()
        for p in files:
            h.update(p.name.encode() + b"\0")
            with p.open("rb") as fh:
                while chunk := fh.read(1 << 22):
                    h.update(chunk)
        self._hash = h.hexdigest()[:12]
        try:
            memo.write_text(json.dumps({"stamp": stamp, "hash": self._hash}))
        except OSError:
            pass
        return self._hash

    @property
    def signature(self) -> str:
        return f"{self.name}@{self.content_hash()}"


def _read_vocab(path: Path) -> tuple[set[str], set[str]]:
    def read(name: str) -> list[str] | None:
        if (path / f"{name}.json").exists():
            return json.loads((path / f"{name}.json").read_text(encoding="utf-8"))
        if (path / f"{name}.txt").exists():
            return (path / f"{name}.txt").read_text(encoding="utf-8").splitlines()
        return None

    shared = read("shared_vocabulary")
    if shared is not None:
        return set(shared), set(shared)
    src, tgt = read("source_vocabulary"), read("target_vocabulary")
    if src is None or tgt is None:
        raise ModelError(f"no vocabulary files in {path}", fix="is it a CTranslate2 model directory?")
    return set(src), set(tgt)


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        return {}


def _spm(path: Path, names: tuple[str, ...]) -> Path | None:
    return next((path / n for n in names if (path / n).exists()), None)


def position_table(path: Path) -> int | None:
    """Rows of the model's position table (the most positions it can encode), read from the
    variables' header in ``model.bin``; ``None`` when it has none (relative positions, T5) or
    the file cannot be read that way."""
    names: dict[str, list[int]] = {}
    aliases: dict[str, str] = {}
    try:
        with (path / "model.bin").open("rb") as f:
            def num(fmt: str) -> int:
                return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

            def text() -> str:
                return f.read(num("H"))[:-1].decode("utf-8")

            num("I")  # binary version
            text()  # spec name
            num("I")  # revision
            for _ in range(num("I")):
                name = text()
                shape = [num("I") for _ in range(num("B"))]
                num("B")  # dtype
                f.seek(num("I"), 1)  # the values: skipped
                names[name] = shape
            for _ in range(num("I")):
                alias = text()
                aliases[alias] = text()
    except (OSError, struct.error, UnicodeDecodeError):
        return None
    for side in ("encoder", "decoder"):  # the encoder's table bounds the input
        key = f"{side}/position_encodings/encodings"
        shape = names.get(aliases.get(key, key))
        if shape and len(shape) == 2:
            return shape[0]
    return None


def _pair(path: Path, info: dict[str, Any], tok_cfg: dict[str, Any], name: str) -> tuple[str, str] | None:
    """The language pair a model's files give: recorded at conversion, the tokenizer config
    (``source_lang``/``target_lang``), the model's name, the directory's name."""
    if isinstance(info.get("pair"), list) and len(info["pair"]) == 2:
        return info["pair"][0], info["pair"][1]
    src, tgt = tok_cfg.get("source_lang"), tok_cfg.get("target_lang")
    if isinstance(src, str) and isinstance(tgt, str) and src and tgt:
        return src, tgt
    return pair_from_name(name) or pair_from_name(path.resolve().name)


def open_model(path: str | Path, *, family: str | None = None, name: str | None = None,
               pair: str | None = None) -> Model:
    """Open a local CTranslate2 directory (tokenizer files alongside), as a converter leaves it.

    The family comes from ``family``, the recorded metadata or what the directory holds (language
    tokens in the vocabulary, ``source.spm``/``target.spm``, ``spiece.model``); a single-pair
    model's pair from ``pair`` (``en-de``) or its files and name; the input limit from the model's
    own position table.
    """
    import sentencepiece as spm

    path = Path(path)
    if not (path / "model.bin").exists():
        if (path / "config.json").exists():
            raise ModelError(f"{path} is a Hugging Face model, not a CTranslate2 one",
                             fix=f"convert it first: workbench models convert {path}")
        raise ModelError(f"no model.bin in {path}", fix="pass a CTranslate2 model directory or a "
                         "Hugging Face id converted with workbench models convert")
    info = _json(path / MARKER)
    hf = _json(path / "hf_config.json")
    tok_cfg = _json(path / "tokenizer_config.json")
    src_vocab, tgt_vocab = _read_vocab(path)
    files = frozenset(p.name for p in path.iterdir())
    fam_name = family or info.get("family") or detect_family(
        src_vocab | tgt_vocab, hf.get("model_type"), tok_cfg.get("tokenizer_class"), where=str(path),
        files=files)
    if fam_name not in FAMILIES:
        raise ModelError(f"unknown model family {fam_name!r}", fix=f"use one of {', '.join(FAMILIES)}")
    src_file = _spm(path, ("source.spm", "sentencepiece.bpe.model", "spiece.model", "sentencepiece.model"))
    tgt_file = _spm(path, ("target.spm", "sentencepiece.bpe.model", "spiece.model", "sentencepiece.model"))
    if src_file is None or tgt_file is None:
        raise ModelError(f"no sentencepiece model next to {path / 'model.bin'}",
                         fix="copy the tokenizer files (source.spm/target.spm, "
                         "sentencepiece.bpe.model or spiece.model) into the model directory")
    model_name = name or info.get("source") or path.name
    lang_pair = parse_pair(pair) if pair else _pair(path, info, tok_cfg, model_name)
    fam = FAMILIES[fam_name](src_vocab | tgt_vocab, model_name, lang_pair)
    # the position table bounds the input; models with relative positions (T5/MADLAD) have none,
    # and their inputs are split at what the conversion recorded, else at 1024 tokens
    positions = position_table(path)
    limit = positions or int(info.get("max_input_length") or hf.get("max_position_embeddings") or 1024)
    return Model(path=path, name=model_name, family=fam, max_input_length=limit, info=info,
                 max_positions=positions,
                 _sp_src=spm.SentencePieceProcessor(model_file=str(src_file)),
                 _sp_tgt=spm.SentencePieceProcessor(model_file=str(tgt_file)))


def _slug(model_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._\-]+", "--", model_id.strip("/"))


def load_model(ref: str | Path, *, family: str | None = None, home: Path | None = None,
               pair: str | None = None) -> Model:
    """A local CTranslate2 directory, a name ``workbench models list`` prints, a Hugging Face id
    converted into the model cache (or a CTranslate2 model already in the Hugging Face cache)."""
    path, name = locate_model(ref, home=home)
    return open_model(path, family=family, name=name, pair=pair)


def locate_model(ref: str | Path, *, home: Path | None = None) -> tuple[Path, str | None]:
    """Where :func:`load_model` finds ``ref`` (its directory, and the Hub id it was converted
    from when found by one), looking only on this machine; a :class:`ModelError` naming the
    convert command when it is nowhere (what a pipeline checks before anything runs)."""
    p = Path(ref)
    if p.is_dir():
        return p, None
    home = home or models_home()
    if home.is_dir() and (home / str(ref) / "model.bin").exists():  # a name from models list
        return home / str(ref), None
    found = sorted(home.glob(_slug(str(ref)) + "-ct2-*")) if home.is_dir() else []
    found = [d for d in found if (d / "model.bin").exists()]
    if found:
        return found[0], str(ref)
    try:
        from huggingface_hub import snapshot_download

        local = Path(snapshot_download(str(ref), local_files_only=True))
        if (local / "model.bin").exists():
            return local, str(ref)
    except Exception:  # noqa: BLE001 - not in the HF cache, or no huggingface_hub
        pass
    raise ModelError(f"model {ref!r} is neither a directory nor a converted model in {home}",
                     fix=f"convert it once: workbench models convert {ref} --quantization int8 "
                         "(workbench models list shows the converted ones)")


# -- conversion and the cache ----------------------------------------------------------------------
def download(model_id: str, revision: str | None = None) -> Path:
    """Fetch a Hugging Face model into the HF cache (the only network step; honours
    ``HF_HUB_OFFLINE``) and return its local directory."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelError("huggingface_hub is not installed",
                         fix="pip install 'workbench[convert]'") from None
    patterns = ["*.json", "*.model", "*.spm", "*.safetensors", "*.txt"]
    try:
        local = Path(snapshot_download(model_id, revision=revision, allow_patterns=patterns))
        if not any(local.glob("*.safetensors")):
            local = Path(snapshot_download(model_id, revision=revision,
                                           allow_patterns=patterns + ["pytorch_model*.bin"]))
    except Exception as exc:  # noqa: BLE001 - network, auth, offline mode, bad id
        raise ModelError(f"cannot download {model_id!r}: {type(exc).__name__}: {exc}",
                         fix="check the id and the network (unset HF_HUB_OFFLINE), or pass a "
                         "local Hugging Face directory") from None
    return local


def convert(source: str | Path, *, quantization: str = "int8", home: Path | None = None,
            force: bool = False, revision: str | None = None, family: str | None = None,
            pair: str | None = None) -> Path:
    """Convert a Hugging Face model (local directory or id) to CTranslate2 in the model cache.

    Returns the converted directory ``$WORKBENCH_HOME/<id>-ct2-<quantization>``; an existing
    conversion is returned as is unless ``force``. A directory that already is a CTranslate2
    model (``ct2-transformers-converter`` output, a downloaded conversion) is returned as it is.
    ``family`` / ``pair`` (``en-de``) are recorded when given.
    """
    home = home or models_home()
    p = Path(source)
    if (p / "model.bin").exists():
        return p
    is_dir = p.is_dir()
    model_id = p.resolve().name if is_dir else str(source)
    out = home / f"{_slug(model_id)}-ct2-{quantization}"
    if (out / "model.bin").exists() and not force:
        return out
    src = p if is_dir else download(str(source), revision)
    if not (src / "config.json").exists():
        raise ModelError(f"no config.json in {src}", fix="pass a Hugging Face model directory or id")
    try:
        import ctranslate2.converters as conv
    except ImportError as exc:
        raise ModelError(f"conversion needs transformers and torch ({exc})",
                         fix="pip install 'workbench[convert]'") from None
    hf = _json(src / "config.json")
    tok_cfg = _json(src / "tokenizer_config.json")
    copy = [f for f in TOKENIZER_FILES if (src / f).exists()]
    tmp = home / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    home.mkdir(parents=True, exist_ok=True)
    try:
        conv.TransformersConverter(str(src), copy_files=copy).convert(
            str(tmp), quantization=quantization, force=True)
        shutil.copy(src / "config.json", tmp / "hf_config.json")
        vocab = set().union(*_read_vocab(tmp))
        fam = family or detect_family(vocab, hf.get("model_type"), tok_cfg.get("tokenizer_class"),
                                      where=str(src), files=frozenset(f.name for f in tmp.iterdir()))
        limit = position_table(tmp) or hf.get("max_position_embeddings") or hf.get("n_positions") or (
            512 if hf.get("model_type") in ("t5", "mt5") else 1024)
        lang_pair = parse_pair(pair) if pair else _pair(tmp, {}, tok_cfg, model_id)
        (tmp / MARKER).write_text(json.dumps({
            "source": model_id, "family": fam, "quantization": quantization,
            "model_type": hf.get("model_type"), "max_input_length": int(limit),
            "pair": list(lang_pair) if lang_pair else None, "revision": revision}, indent=2))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - converter errors are many and untyped
        raise ModelError(f"converting {source} failed: {type(exc).__name__}: {exc}",
                         fix="is it a supported seq2seq model (Marian, M2M-100/NLLB, T5/MADLAD)?") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


@dataclass(frozen=True)
class ModelInfo:
    """One converted model in the cache."""

    name: str
    path: Path
    source: str
    family: str
    quantization: str
    size_mb: float


def list_models(home: Path | None = None) -> list[ModelInfo]:
    """Converted models in ``$WORKBENCH_HOME``."""
    home = home or models_home()
    out = []
    for d in sorted(home.iterdir()) if home.is_dir() else []:
        if d.name.startswith(".") or not (d / "model.bin").exists():
            continue
        info = _json(d / MARKER)
        size = sum(f.stat().st_size for f in d.iterdir() if f.is_file()) / 1e6
        out.append(ModelInfo(d.name, d, info.get("source", "?"), info.get("family", "?"),
                             info.get("quantization", "?"), round(size, 1)))
    return out
