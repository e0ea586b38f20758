"""CoNLL (IOB2/IOB1/BIOES): one token per line with its tag, a blank line between sentences."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError, InputWarning
from workbench.core.records import Example
from workbench.load.text import read_lines

__all__ = ["read_conll", "write_conll"]

_TAG_RE = re.compile(r"^(?:O|[BIESLU][-_]\S+)$")
#: control characters (C0 but the tab, DEL, C1) and a byte order mark: none belongs in a CoNLL line
_BAD_CHAR_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ufeff]")
#: CoNLL-U multiword-token (``2-3``) and empty-node (``5.1``) ids
_RANGE_RE = re.compile(r"^(\d+)-(\d+)$")
_EMPTY_NODE_RE = re.compile(r"^(\d+)\.(\d+)$")


@dataclass(slots=True)
class _Sentence:
    """The lines of the sentence being read."""

    lines: list[int] = field(default_factory=list)  # the word lines' numbers
    first: list[str] = field(default_factory=list)  # their token_column, or column 0
    second: list[str] = field(default_factory=list)  # column 1 while column 0 is a running index
    tags: list[str] = field(default_factory=list)
    #: CoNLL-U multiword-token and empty-node lines, (word lines before it, line, columns): left
    #: out when column 0 is the running index, tokens like any other when it is not
    ranged: list[tuple[int, int, list[str]]] = field(default_factory=list)
    indexed: bool = True  # column 0 of every word line so far is 1, 2, 3, ...
    index_break: tuple[int, str, str] | None = None  # (line, expected, found) where it stopped
    meta: dict[str, Any] = field(default_factory=dict)
    text_line: int = 0
    comment_line: int = 0


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
    restores the original sentence, ``# sent_id =`` becomes the example id; a ``# text`` the
    tokens do not spell is replaced by the tokens, with an :class:`InputWarning`). Columns are
    split on tabs when the line has one, otherwise on whitespace (``separator`` to force). The
    token is ``token_column``; by default column 0, or column 1 when column 0 of every line of the
    sentence is its running index 1, 2, 3, ... (CoNLL-U style; a number token in column 0 of
    CoNLL-2003 is not mistaken for one: CoNLL-U's multiword-token ``2-3`` and empty-node ``5.1``
    lines are then left out, as CoNLL-U readers do, and an index that skips or goes back is a
    warning, an error once the file has shown CoNLL-U sentences); tags come from ``tag_column``
    (default: last). A file that ends mid-line (truncated: its last line has no line break and
    too few columns, a tag cut short or a label the file has not used before) gives its complete
    sentences and an :class:`InputWarning` naming the line.
    """
    path = Path(path)
    prefix = id_prefix if id_prefix is not None else path.stem
    count = 0
    conllu = False  # a sentence of this file had a running index 1, 2, 3, ... in column 0
    labels: set[str] = set()  # labels seen, to tell a cut last tag (B-PE) from a new label
    last_ncols = 0
    cur = _Sentence()

    def word(lineno: int, cols: list[str], last: bool = False) -> str | None:
        """The tag of a word line; errors name the line. On the file's unterminated ``last`` line
        None where a cut would explain the error (a missing column, a tag cut short)."""
        try:
            cols[token_column if token_column is not None else 0]
            tag = cols[tag_column].strip()
        except IndexError:
            if last:
                return None
            raise InputError(
                f"line has {len(cols)} columns; token column {token_column} or tag column "
                f"{tag_column} does not exist",
                where=f"{path}:{lineno}", fix="pass --tag-column / --token-column with existing columns",
            ) from None
        if tag != "O" and not _TAG_RE.match(tag):
            if last and not any(ch.isspace() for ch in tag):
                return None
            msg, fix = _tag_problem(tag, tag_column)
            raise InputError(msg, where=f"{path}:{lineno}", fix=fix)
        return tag

    def make(s: _Sentence) -> Example:
        nonlocal count, conllu
        count += 1
        start = s.comment_line or s.lines[0]  # the sentence's first line, comments included
        if s.indexed and len(s.lines) > 1:
            conllu = True
        lines, toks, tags = s.lines, s.second if s.indexed and token_column is None else s.first, s.tags
        if not s.indexed and s.ranged:  # not CoNLL-U after all: those lines are tokens too
            for k, (pos, lineno, cols) in enumerate(s.ranged):
                lines.insert(pos + k, lineno)
                toks.insert(pos + k, cols[token_column if token_column is not None else 0])
                tags.insert(pos + k, word(lineno, cols) or "")  # its tag is checked now
        if s.index_break and not s.indexed:
            line, expected, found = s.index_break
            msg = (f"column 0 counts 1, 2, ... (a CoNLL-U id) but has {found} where {expected} "
                   "belongs")
            if conllu:
                raise InputError(msg, where=f"{path}:{line}",
                                 fix="number the word lines 1, 2, 3, ... (lines may be missing)")
            warnings.warn(f"{path}:{line}: {msg}; column 0 is read as the tokens",
                          InputWarning, stacklevel=3)
        for i, tok in enumerate(toks):
            if not tok or tok.isspace():
                raise InputError("empty token", where=f"{path}:{lines[i]}",
                                 fix="remove the line or fix its columns")
        meta = dict(s.meta)
        ex_id = str(meta.pop("sent_id", None) or f"{prefix}-{count}")
        text = meta.pop("text", None)
        ex = Example.from_tokens(ex_id, toks, tags, text=text, scheme=scheme, strict=strict,
                                 where=f"{path}:{start}", lang=lang, split=split, meta=meta)
        if text is not None and ex.text != text:
            # the comment and the tokens disagree (an edited token, CoNLL-U's 'del' = 'de el'):
            # the tokens carry the tags, so they win, and the text says what they say
            warnings.warn(f"{path}:{s.text_line}: '# text = {_short(text)}' does not spell the "
                          f"tokens ({_short(' '.join(toks))}); the text is the tokens joined by spaces",
                          InputWarning, stacklevel=3)
        ex.meta["line"] = start
        return ex

    def cut_off(lineno: int, s: _Sentence) -> None:
        first = s.comment_line or (s.lines[0] if s.lines else lineno)
        warnings.warn(f"{path}:{lineno}: the file ends mid-line (truncated?); the unfinished "
                      f"sentence from line {first} was left out, {count} complete sentences read",
                      InputWarning, stacklevel=3)

    # one pass, one line at a time, the common case first: this loop is the reader's hot path
    for lineno, text, ended, cut in read_lines(path):
        if not text or text.isspace():
            if cut:
                cut_off(lineno, cur)
                return
            if cur.lines:
                yield make(cur)
            elif "sent_id" in cur.meta or "text" in cur.meta:
                raise InputError(
                    f"empty sentence: {'# sent_id' if 'sent_id' in cur.meta else '# text'} comment "
                    "with no token lines",
                    where=f"{path}:{cur.comment_line}",
                    fix="add the sentence's 'token<TAB>tag' lines or remove its comments",
                )
            cur = _Sentence()
            continue
        bad = _BAD_CHAR_RE.search(text)
        if bad:
            raise _bad_char(bad, text, f"{path}:{lineno}")
        last = not ended  # the file's last line, without its line break: perhaps cut short
        sep = separator if separator is not None else ("\t" if "\t" in text else None)
        cols = text.split(sep) if sep else text.split()
        if text[0] in "-#" or text[0].isspace():
            stripped = text.strip()
            if stripped.startswith("-DOCSTART-"):
                continue
            if not cur.lines and stripped.startswith("#") and not _is_token_line(cols, tag_column):
                if last:  # a cut comment: its sentence never came
                    cut_off(lineno, cur)
                    return
                _comment(stripped, cur, lineno)
                continue
        if last and (cut or len(cols) < max(2, last_ncols)):
            cut_off(lineno, cur)
            return
        if len(cols) < 2:
            raise InputError(
                f"expected a token and a tag, found {len(cols)} column(s): {text[:60]!r}",
                where=f"{path}:{lineno}",
                fix="one 'token<TAB>tag' per line, blank line between sentences",
            )
        if cur.indexed:
            n = len(cur.lines)
            if len(cols) > 2 and cols[0] == str(n + 1):
                cur.second.append(cols[1])
            elif _conllu_extra(cols[0], n):
                cur.ranged.append((n, lineno, cols))
                continue
            else:
                cur.indexed = False
                if n and len(cols) > 2 and cols[0].isdigit():
                    cur.index_break = (lineno, str(n + 1), cols[0])
        try:
            tag: str | None = cols[tag_column].strip()
            tok = cols[token_column] if token_column is not None else cols[0]
        except IndexError:
            tag, tok = None, ""
        if tag is None or (tag != "O" and not _TAG_RE.match(tag)):
            tag = word(lineno, cols, last)  # an error naming the line, or None: cut short
        if tag is None or (last and _cut_label(tag, labels)):
            cut_off(lineno, cur)
            return
        if tag != "O":
            labels.add(tag[2:])
        last_ncols = len(cols)
        cur.lines.append(lineno)
        cur.first.append(tok)
        cur.tags.append(tag)
    if cur.lines:
        yield make(cur)
    elif cur.meta:  # a sentence's comments, then the end of the file: cut before its tokens?
        warnings.warn(f"{path}:{cur.comment_line}: the file ends after comments, before the tokens of "
                      f"their sentence (truncated?); {count} complete sentences read", InputWarning,
                      stacklevel=2)


def _comment(stripped: str, s: _Sentence, lineno: int) -> None:
    """A ``# key = value`` comment into the sentence's meta (other comments: ``comments``)."""
    body = stripped[1:].strip()
    key, eq, value = body.partition("=")
    k = key.strip()
    if eq and k and " " not in k:
        if k == "text":  # the sentence keeps its own spacing; one space after '=' separates
            s.text_line = lineno
            s.meta[k] = value[1:] if value.startswith(" ") else value
        else:
            s.meta[k] = value.strip()
    else:
        s.meta.setdefault("comments", []).append(body)
    s.comment_line = s.comment_line or lineno


def _conllu_extra(col0: str, n: int) -> bool:
    """Whether ``col0`` is a CoNLL-U multiword-token id ``N-M`` starting at the next word
    (``n`` words read), or an empty-node id ``n.K`` following the last word."""
    m = _RANGE_RE.match(col0)
    if m:
        return int(m.group(1)) == n + 1 and int(m.group(2)) > n + 1
    m = _EMPTY_NODE_RE.match(col0)
    return m is not None and int(m.group(1)) == n and int(m.group(2)) > 0


def _cut_label(tag: str, labels: set[str]) -> bool:
    """Whether the tag of a file's unterminated last line may be cut short (``B-PE`` of
    ``B-PER``): its label is not one the file has used before. A file that merely lacks its last
    line break loses its last sentence only when that line brings a label of its own, and says so."""
    return tag != "O" and tag[2:] not in labels


def _short(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 3] + "..."


def _bad_char(m: re.Match[str], line: str, where: str) -> InputError:
    ch = m.group()
    column = line.count("\t", 0, m.start())
    if ch == "\ufeff":
        return InputError(f"a byte order mark (U+FEFF) inside the line, at character {m.start() + 1}",
                          where=where, fix="remove it: files were probably joined mid-line "
                          "(sed -i 's/\\xef\\xbb\\xbf//g' FILE)")
    return InputError(f"control character U+{ord(ch):04X} at character {m.start() + 1} "
                      f"(tab-separated column {column})", where=where,
                      fix="remove it; a CoNLL line holds printable tokens and tags separated by tabs or spaces")


def _tag_problem(tag: str, tag_column: int) -> tuple[str, str]:
    """What is wrong with a tag that is not O or PREFIX-LABEL, and the fix."""
    if any(ch.isspace() for ch in tag):
        return (f"tag {tag!r} (column {tag_column}) holds a space: a label is one word",
                "write the label without spaces (B-PER_SON), or give the tag column its own field")
    return (f"tag {tag!r} (column {tag_column}) is not O or PREFIX-LABEL (PREFIX one of B, I, E, "
            "S)", "check the tag column (--tag-column) and the scheme (--scheme)")


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
