"""Attach existing translations (a human's, another system's) to a stored corpus.

The result follows the translate stage's conventions, so every projector works on it as on a
machine translation: a new corpus ``{source}.{lang}``, stage ``translate``, parents = [source
version], each example keeping the source example's ``id`` and ``split``, ``spans`` empty and
``meta`` = ``{src_text, src_lang, translator}``. The translator in the signature is the file
(name and content hash); there is no ``mt_score``.

Input: one tokenised sentence per line (tokens separated by spaces), in the source's order; or
a CoNLL file whose tags are ignored (one sentence per source example).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from workbench.core.errors import InputError
from workbench.core.records import Example
from workbench.core.signature import Signature
from workbench.load.tokens import read_token_lines
from workbench.store.store import Store, Version

__all__ = ["attach", "attach_signature"]


def _file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path),
                         fix="check the path of the translations file") from None


def attach_signature(source: Version, path: str | Path, *, tgt_lang: str) -> Signature:
    """The signature :func:`attach` gives the version it makes (computed without reading it)."""
    p = Path(path)
    return (Signature("translate").add("parent", f"{source.ref}#{source.signature_key}")
            .add("model", f"file:{p.name}#{_file_hash(p)}").add("src", source.lang or None)
            .add("tgt", tgt_lang))


def _examples(store: Store, source: Version, path: Path, tgt_lang: str) -> Iterator[Example]:
    pairs = read_token_lines(path)
    n = 0
    for src in store.examples(source):
        nxt = next(pairs, None)
        if nxt is None:
            raise InputError(f"{path.name} has {n} sentences, {source.ref} has {source.n_examples}",
                             where=str(path), fix="one translation per source example, same order")
        lineno, tokens = nxt
        n += 1
        text = " ".join(tokens)
        offsets, pos = [], 0
        for tok in tokens:
            offsets.append((pos, pos + len(tok)))
            pos += len(tok) + 1
        yield Example(id=src.id, text=text, offsets=offsets, spans=[], lang=tgt_lang, split=src.split,
                      meta={"src_text": src.text, "src_lang": src.lang, "translator": f"file:{path.name}",
                            "line": lineno})
    if next(pairs, None) is not None:
        raise InputError(f"{path.name} has more sentences than {source.ref} ({source.n_examples})",
                         where=str(path), fix="one translation per source example, same order")


def attach(
    ref: str | Version,
    path: str | Path,
    *,
    tgt_lang: str,
    store: Store | None = None,
    name: str | None = None,
) -> Version:
    """Store the translations in ``path`` of version ``ref`` as a new translated version.

    The corpus is ``name`` (default ``{source corpus}.{tgt_lang}``). Nothing is stored when the
    file has an error or a different number of sentences.
    """
    store = store or Store()
    source = store.resolve(ref)
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", where=str(p), fix="check the path of the translations file")
    sig = attach_signature(source, p, tgt_lang=tgt_lang)
    corpus = name or f"{source.corpus}.{tgt_lang}"
    done = store.find(sig.key())
    if done is not None and done.corpus == corpus:  # the same file attached before
        return done
    return store.write_version(
        _examples(store, source, p, tgt_lang), corpus=corpus,
        stage="translate", signature=sig, parents=[source], lang=tgt_lang,
        params={"translations": str(p), "src_lang": source.lang, "tgt_lang": tgt_lang}, reuse=True,
    )
