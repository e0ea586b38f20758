"""Reading text files line by line, with errors that name ``file:line``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from workbench.core.errors import InputError

__all__ = ["lines", "raise_bad_utf8"]


def lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` without its line break; invalid UTF-8 names its line."""
    try:
        with path.open("r", encoding="utf-8", newline="\n") as fh:
            for lineno, line in enumerate(fh, 1):
                if lineno == 1:
                    line = line.lstrip("\ufeff")
                yield lineno, line.rstrip("\r\n")
    except UnicodeDecodeError:
        raise_bad_utf8(path)


def raise_bad_utf8(path: Path) -> None:
    """Find the first line that is not UTF-8 and raise an :class:`InputError` naming it."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"invalid UTF-8 at byte {exc.start} of the line",
                    where=f"{path}:{lineno}",
                    fix="re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)",
                ) from None
    raise InputError("invalid UTF-8", where=str(path), fix="re-encode the file as UTF-8")

