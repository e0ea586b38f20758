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
from typing import NamedTuple

from workbench.core.errors import InputError

__all__ = ["Line", "check_encoding", "lines", "read_lines", "utf8_error"]

#: how much of a file :func:`check_encoding` looks at
_HEAD = 4096

_BOMS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (b"\x00\x00\xfe\xff", "UTF-32BE"), (b"\xff\xfe\x00\x00", "UTF-32LE"),
    (b"\xfe\xff", "UTF-16BE"), (b"\xff\xfe", "UTF-16LE"),
)


class Line(NamedTuple):
    """One line of a text file, without its line break."""

    no: int
    text: str
    #: False for a last line that the file ends without a line break
    ended: bool = True
    #: the file ends inside a UTF-8 character on this line (the undecodable tail is left out):
    #: the file was certainly cut
    cut: bool = False


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


def _decode(raw: bytes, lineno: int, path: Path, ended: bool) -> Line:
    try:
        text = raw.decode("utf-8")
        cut = False
    except UnicodeDecodeError as exc:
        # a file cut inside a multi-byte character ends in an incomplete sequence: the line up to
        # it is kept (and flagged) so the reader can report the truncation, not a wrong encoding
        if ended or exc.reason != "unexpected end of data" or exc.end != len(raw):
            raise utf8_error(raw, exc, f"{path}:{lineno}") from None
        text, cut = raw[:exc.start].decode("utf-8"), True
    if text.startswith("\ufeff"):
        text = text[1:]
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(f"NUL character at column {nul + 1}", where=f"{path}:{lineno}",
                         fix="the file is binary, damaged, or UTF-16/UTF-32: give a UTF-8 text file")
    return Line(lineno, text, ended, cut)


def read_lines(path: Path) -> Iterator[Line]:
    """The lines of a UTF-8 text file (see the module docstring for what is checked)."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path), fix="check the path") from None
    with fh:
        check_encoding(fh.read(_HEAD), path)
        fh.seek(0)
        lineno = 0
        for raw in fh:
            ended = raw.endswith(b"\n")
            body = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1] if ended else raw
            if b"\r" not in body:
                lineno += 1
                yield _decode(body, lineno, path, ended)
                continue
            parts = body.split(b"\r")  # CR-only line ends: each CR ends a line
            if not ended and parts[-1] == b"":  # the file's last CR ended its last line
                parts.pop()
                ended = True
            for k, part in enumerate(parts):
                lineno += 1
                yield _decode(part, lineno, path, ended or k < len(parts) - 1)


def lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` without its line break (:func:`read_lines` without the flags)."""
    for line in read_lines(path):
        yield line.no, line.text
