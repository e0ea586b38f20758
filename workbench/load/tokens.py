"""The one reader of target sentences: tokenised lines or a CoNLL file's token column.

Attached translations (``workbench run`` with ``[translations]``), ``project --target`` and
alignment corpora all read sentences of tokens from a file; they read them here, so the same
file means the same sentences everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from workbench.core.errors import ConfigError, InputError
from workbench.load.registry import EXTENSIONS
from workbench.load.text import lines

__all__ = ["read_parallel", "read_token_lines", "target_format"]

#: how many lines :func:`target_format` looks at for a tab
_SNIFF_LINES = 200


def target_format(path: str | Path) -> str:
    """``conll`` or ``lines``: by extension (a CoNLL extension other than ``.txt``), else
    ``conll`` when one of the first lines holds a tab."""
    p = Path(path)
    suffix = p.suffix.lower()
    if EXTENSIONS.get(suffix) == "conll" and suffix != ".txt":
        return "conll"
    try:
        with p.open(encoding="utf-8", errors="replace") as fh:
            if any("\t" in line for _, line in zip(range(_SNIFF_LINES), fh, strict=False)):
                return "conll"
    except OSError:
        pass
    return "lines"


def _conll_tokens(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(first line, tokens)`` per sentence of a CoNLL file (tags and other columns ignored); the
    first line counts the sentence's comments, as :func:`~workbench.load.conll.read_conll` does.

    Column 0 is taken for CoNLL-U's running index only when the sentence's ids run 1, 2, 3, ...
    (its multiword ``2-3`` and empty-node ``5.1`` lines then left out, as CoNLL-U readers do);
    otherwise it is the token, also when it is a number (CoNLL-2003's ``1996 CD I-NP O``)."""
    rows: list[list[str]] = []
    start = 0

    def tokens() -> list[str]:
        words = [r for r in rows if not _MULTI.match(r[0])]
        if words and all(len(r) > 2 for r in rows) and [r[0] for r in words] == [str(i) for i in range(1, len(words) + 1)]:
            return [r[1] for r in words]
        return [r[0] for r in rows]

    for lineno, line in lines(path):
        stripped = line.strip()
        if not stripped:
            if rows:
                yield start, tokens()
            rows, start = [], 0
            continue
        if stripped.startswith("-DOCSTART-"):
            continue
        start = start or lineno
        if not rows and stripped.startswith("#"):
            continue
        rows.append(line.split("\t") if "\t" in line else line.split())
    if rows:
        yield start, tokens()


#: CoNLL-U lines that are not words: a multiword token's range (``2-3``), an empty node (``5.1``)
_MULTI = re.compile(r"^\d+(-\d+|\.\d+)$")


def _token_lines(path: Path, empty: str) -> Iterator[tuple[int, list[str]]]:
    pending: list[int] = []  # blank lines: errors unless only trailing (empty="error")
    for lineno, line in lines(path):
        tokens = line.split()
        if not tokens and empty == "error":
            pending.append(lineno)
            continue
        if pending:
            raise InputError("empty line: every source sentence needs a translation",
                             where=f"{path}:{pending[0]}", fix="one tokenised sentence per line")
        yield lineno, tokens


def read_token_lines(path: str | Path, *, format: str = "auto",
                     empty: str = "error") -> Iterator[tuple[int, list[str]]]:
    """``(line, tokens)`` per sentence of ``path``.

    Args:
        format: ``lines`` (one tokenised sentence per line), ``conll`` (the token column of a
            CoNLL file; tags ignored) or ``auto`` (:func:`target_format`).
        empty: for ``lines``, what an empty line is: ``error`` (every sentence needs tokens;
            trailing blank lines are ignored) or ``keep`` (an empty sentence).
    """
    p = Path(path)
    if format not in ("auto", "lines", "conll"):
        raise ConfigError(f"unknown target format {format!r}", fix="use auto, lines or conll")
    if not p.is_file():
        raise InputError("no such file", where=str(p), fix="check the path")
    if format == "auto":
        format = target_format(p)
    return _conll_tokens(p) if format == "conll" else _token_lines(p, empty)


def read_parallel(path: str | Path) -> list[tuple[list[str], list[str]]]:
    """Unlabelled parallel text: ``source tokens ||| target tokens`` per line."""
    path = Path(path)
    out = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path)) from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        a, sep, b = line.partition("|||")
        if not sep:
            raise InputError("no ' ||| ' separator", where=f"{path}:{n}",
                             fix="write 'source tokens ||| target tokens' on each line")
        out.append((a.split(), b.split()))
    return out
