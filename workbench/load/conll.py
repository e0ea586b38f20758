"""CoNLL (IOB2/IOB1/BIOES): one token per line with its tag, a blank line between sentences."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.records import Example
from workbench.load.text import lines as _lines

__all__ = ["read_conll", "write_conll"]


def read_conll(
    path: str | Path,
    *,
    lang: str = "",
    scheme: str = "iob2",
    tag_column: int = -1,
    token_column: int | None = None,
    separator: str | None = None,
    strict: bool = False,
    split: str = "train",
    id_prefix: str | None = None,
) -> Iterator[Example]:
    """CoNLL-style files: one token per line, blank line between sentences.

    ``-DOCSTART-`` lines are skipped; ``# key = value`` comments become ``meta`` (``# text =``
    restores the original sentence, ``# sent_id =`` becomes the example id). Columns are split on
    tabs when the line has one, otherwise on whitespace (``separator`` to force). The token is
    ``token_column``; by default column 0, or column 1 when column 0 of every line of the
    sentence is its running index 1, 2, 3, ... (CoNLL-U style; a number token in column 0 of
    CoNLL-2003 is not mistaken for one); tags come from ``tag_column`` (default: last).
    """
    path = Path(path)
    prefix = id_prefix if id_prefix is not None else path.stem
    tokens: list[str] = []  # column 0 (or token_column)
    second: list[str] = []  # column 1, the token when column 0 is a running index 1, 2, 3, ...
    indexed = True
    tags: list[str] = []
    meta: dict[str, Any] = {}
    first_line = 0
    count = 0

    def make() -> Example:
        nonlocal count
        count += 1
        start = comment_line or first_line  # the sentence's first line, comments included
        toks = second if token_column is None and indexed else tokens
        for i, tok in enumerate(toks):
            if not tok or tok.isspace():
                raise InputError("empty token", where=f"{path}:{first_line + i}",
                                 fix="remove the line or fix its columns")
        ex_id = str(meta.pop("sent_id", None) or f"{prefix}-{count}")
        text = meta.pop("text", None)
        ex = Example.from_tokens(ex_id, toks, tags, text=text, scheme=scheme, strict=strict,
                                 where=f"{path}:{start}", lang=lang, split=split, meta=dict(meta))
        ex.meta["line"] = start
        return ex

    def columns(line: str) -> list[str]:
        sep = separator if separator is not None else ("\t" if "\t" in line else None)
        return line.split(sep) if sep else line.split()

    comment_line = 0
    for lineno, line in _lines(path):
        if not line or line.isspace():
            if tokens:
                yield make()
            elif "sent_id" in meta or "text" in meta:
                raise InputError(
                    f"empty sentence: {'# sent_id' if 'sent_id' in meta else '# text'} comment "
                    "with no token lines",
                    where=f"{path}:{comment_line}",
                    fix="add the sentence's 'token<TAB>tag' lines or remove its comments",
                )
            tokens, second, tags, meta, comment_line, indexed = [], [], [], {}, 0, True
            continue
        if line[0] in "-#" or line[0].isspace():
            stripped = line.strip()
            if stripped.startswith("-DOCSTART-"):
                continue
            if not tokens and stripped.startswith("#") and not _is_token_line(columns(line), tag_column):
                body = stripped[1:].strip()
                key, eq, value = body.partition("=")
                k = key.strip()
                if eq and k and " " not in k:
                    meta[k] = value.strip() if k != "text" else value[1:] if value.startswith(" ") else value
                else:
                    meta.setdefault("comments", []).append(body)
                comment_line = comment_line or lineno
                continue
        if separator:
            cols = line.split(separator)
        else:
            cols = line.split("\t") if "\t" in line else line.split()
        if len(cols) < 2:
            raise InputError(
                f"expected a token and a tag, found {len(cols)} column(s): {line[:60]!r}",
                where=f"{path}:{lineno}",
                fix="one 'token<TAB>tag' per line, blank line between sentences",
            )
        try:
            if token_column is None:
                tok = cols[0]
                if indexed and len(cols) > 2 and cols[0] == str(len(tokens) + 1):
                    second.append(cols[1])
                else:
                    indexed = False
            else:
                tok = cols[token_column]
            tag = cols[tag_column].strip()
        except IndexError:
            raise InputError(
                f"line has {len(cols)} columns; token column {token_column} or tag column "
                f"{tag_column} does not exist",
                where=f"{path}:{lineno}", fix="pass --tag-column / --token-column with existing columns",
            ) from None
        if not (tag == "O" or (len(tag) > 2 and tag[1] == "-" and tag[0] in "BIESLU")) and not _is_tag(tag):
            raise InputError(
                f"tag {tag!r} (column {tag_column}) is not O or PREFIX-LABEL (PREFIX one of B, I, "
                "E, S)",
                where=f"{path}:{lineno}",
                fix="check the tag column (--tag-column) and the scheme (--scheme)",
            )
        if not tokens:
            first_line = lineno
        tokens.append(tok)
        tags.append(tag)
    if tokens:
        yield make()
    elif "sent_id" in meta or "text" in meta:
        raise InputError("empty sentence: comments with no token lines at the end of the file",
                         where=f"{path}:{comment_line}", fix="remove the comments or add the tokens")


_TAG_RE = re.compile(r"^(?:O|[BIESLU][-_]\S+)$")


def _is_tag(tag: str) -> bool:
    return bool(_TAG_RE.match(tag))


def _is_token_line(cols: list[str], tag_column: int) -> bool:
    """A ``#...`` line is a token (``#`` or ``#hashtag``) rather than a comment when it splits
    into columns whose tag column holds a tag and no column looks like ``key = value``."""
    if len(cols) < 2 or "=" in cols:
        return False
    try:
        return _is_tag(cols[tag_column].strip())
    except IndexError:
        return False


def write_conll(
    examples: Iterable[Example],
    path: Path,
    *,
    scheme: str = "iob2",
    comments: bool = False,
    docstart: bool = False,
) -> int:
    """One ``token<TAB>tag`` per line; ``comments`` writes ``# sent_id`` and ``# text`` first.

    Examples without tokens (an empty translation) cannot be written in CoNLL and are skipped;
    the number written is returned.
    """
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        if docstart:
            fh.write("-DOCSTART-\tO\n\n")
        for ex in examples:
            if not ex.offsets:
                continue
            lines = []
            if comments:
                text = " ".join(ex.text.splitlines())
                lines.append(f"# sent_id = {ex.id}\n# text = {text}\n")
            for tok, tag in zip(ex.tokens, ex.tags(scheme), strict=True):
                if "\t" in tok or "\n" in tok or "\r" in tok:
                    raise InputError(f"token {tok!r} holds a tab or line break", where=f"example {ex.id}",
                                     fix="CoNLL cannot hold it: export as jsonl or parquet")
                lines.append(f"{tok}\t{tag}\n")
            fh.write("".join(lines) + "\n")
            n += 1
    return n

