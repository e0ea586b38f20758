"""Reading text files line by line, with errors that name ``file:line``.

What every text reader (CoNLL, JSON lines, token lines) gets from here:

- line ends ``\\n``, ``\\r\\n`` and a lone ``\\r`` (classic Mac, some Windows tools) all end a line,
  as Python's universal newlines read them; a CR-only file is not one long line;
- a file in UTF-16 or UTF-32 (with or without a byte order mark) is refused naming its encoding,
  invalid UTF-8 names its line and the encoding it probably is;
- a UTF-8 byte order mark is dropped at the start of any line (``cat a.conll b.conll`` leaves one
  where the second file starts);
- a NUL character is an error naming its line (no text format holds one: it means binary data);
- each line says whether it ended with a line break, and whether the file stopped inside a UTF-8
  character on it, so that readers can tell a truncated last record from a complete one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from workbench.core.errors import InputError

__all__ = ["Line", "check_encoding", "lines", "read_lines", "utf8_error"]

#: how much of a file :func:`check_encoding` looks at
_HEAD = 4096

_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (b"\x00\x00\xfe\xff", "UTF-32BE"), (b"\xff\xfe\x00\x00", "UTF-32LE"),
    (b"\xfe\xff", "UTF-16BE"), (b"\xff\xfe", "UTF-16LE"),
)


#: one line of a text file, as :func:`read_lines` gives it: ``(number, text without its line
#: break, ended, cut)``. ``ended`` is False for a last line the file ends without a line break;
#: ``cut`` is True when the file ends inside a UTF-8 character on it (the undecodable tail is left
#: out): the file was certainly cut. A plain tuple: readers take millions of them.
Line = tuple[int, str, bool, bool]


def sniff_encoding(head: bytes) -> tuple[str, str] | None:
    """``(encoding, evidence)`` when the first bytes of a file are UTF-16 or UTF-32 (``UTF-16LE``,
    ``UTF-16BE``, ``UTF-32LE``, ``UTF-32BE``); None otherwise."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, "it starts with its byte order mark"
    if b"\x00" not in head or len(head) < 4:
        return None
    # mostly-ASCII text in UTF-16/32 has NUL bytes at fixed places of each 2- or 4-byte unit
    n = len(head) // 4 * 4
    zeros = [sum(head[i] == 0 for i in range(r, n, 4)) / (n // 4) for r in range(4)]
    hi, lo = 0.6, 0.4
    for name, nul_at in (("UTF-32LE", (1, 2, 3)), ("UTF-32BE", (0, 1, 2)), ("UTF-16LE", (1, 3)),
                         ("UTF-16BE", (0, 2))):
        if all(zeros[r] > hi if r in nul_at else zeros[r] < lo for r in range(4)):
            return name, "its NUL bytes fall where that encoding puts them; it has no byte order mark"
    return None


def check_encoding(head: bytes, path: Path) -> None:
    """Raise :class:`InputError` naming the encoding when ``head`` (a file's first bytes) is
    UTF-16 or UTF-32 rather than UTF-8."""
    found = sniff_encoding(head)
    if found:
        codec, evidence = found
        raise InputError(f"the file is {codec}, not UTF-8 ({evidence})", where=str(path),
                         fix=f"re-encode it as UTF-8: iconv -f {codec} -t UTF-8 {path.name} > "
                         f"{path.stem}-utf8{path.suffix}")


def _guess(raw: bytes) -> tuple[str, str]:
    """What invalid UTF-8 bytes probably are: (description, iconv source encoding)."""
    try:  # Shift-JIS first: its two-byte characters look like overlong UTF-8 sequences
        if re.search("[\u3040-\u30ff\u4e00-\u9fff]", raw.decode("shift_jis")):
            return "probably Shift-JIS", "SHIFT-JIS"
    except UnicodeDecodeError:
        pass
    if re.search(rb"[\xc0\xc1][\x80-\xbf]|\xe0[\x80-\x9f]|\xf0[\x80-\x8f]", raw):
        return "an overlong sequence, as Java's modified UTF-8 writes NUL", "UTF-8"
    if re.search(rb"\xed[\xa0-\xbf]", raw):
        return "a UTF-16 surrogate encoded as if a character, as CESU-8 does", "UTF-8"
    try:
        raw.decode("cp1252")
    except UnicodeDecodeError:
        return "probably Latin-1", "LATIN1"
    return "probably Latin-1 or CP1252", "CP1252"


def utf8_error(raw: bytes, exc: UnicodeDecodeError, where: str) -> InputError:
    """The error for invalid UTF-8 in ``raw`` (one line, or a whole file when ``where`` has no line)."""
    what, codec = _guess(raw)
    if codec == "UTF-8":
        fix = "the writer of the file produced non-standard UTF-8: re-export it, or repair it (iconv -c -f UTF-8 -t UTF-8 drops the bad bytes)"
    else:
        fix = f"re-encode the file as UTF-8 (e.g. iconv -f {codec} -t UTF-8)"
    return InputError(f"invalid UTF-8 at byte {exc.start} of the line ({what})", where=where, fix=fix)


#: what a decoded line is looked at twice for: a NUL, bytes that were not UTF-8 (decoded as lone
#: surrogates U+DC80-U+DCFF by ``surrogateescape``, which valid UTF-8 never gives), a BOM
_SUSPECT_RE = re.compile("[\x00\udc80-\udcff\ufeff]")  # one class: an alternation is slower


def _checked(text: str, lineno: int, path: Path, ended: bool) -> tuple[str, bool]:
    """A line that holds a NUL or undecodable bytes: the error naming it, or (for a file cut
    inside a multi-byte character, on its last line) the line up to the cut and ``True``."""
    raw = text.encode("utf-8", "surrogateescape")
    cut = False
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a file cut inside a multi-byte character ends in an incomplete sequence: the line up to
        # it is kept (and flagged) so the reader can report the truncation, not a wrong encoding
        if ended or exc.reason != "unexpected end of data" or exc.end != len(raw):
            raise utf8_error(raw, exc, f"{path}:{lineno}") from None
        text, cut = raw[:exc.start].decode("utf-8"), True
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(f"NUL character at column {nul + 1}", where=f"{path}:{lineno}",
                         fix="the file is binary, damaged, or UTF-16/UTF-32: give a UTF-8 text file")
    return text, cut


def read_lines(path: Path) -> Iterator[Line]:
    """The lines of a UTF-8 text file (see the module docstring for what is checked)."""
    try:
        with path.open("rb") as head:
            check_encoding(head.read(_HEAD), path)
        # newline="": \n, \r\n and a lone \r end lines, and stay on them (so a missing last one shows)
        fh = path.open("r", encoding="utf-8", errors="surrogateescape", newline="")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path), fix="check the path") from None
    with fh:
        for lineno, raw in enumerate(fh, 1):
            text = raw.rstrip("\r\n")  # one line break at most: newline="" splits at each
            ended, cut = len(text) != len(raw), False
            if _SUSPECT_RE.search(text):
                text, cut = _checked(text, lineno, path, ended)
                text = text.lstrip("\ufeff")
            yield lineno, text, ended, cut


def lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` without its line break (:func:`read_lines` without the flags)."""
    for no, text, _, _ in read_lines(path):
        yield no, text
