"""The workbench's language identifier: py3langid (its model ships inside the package).

One place to load it, shared by the ``langid.v1`` filter and the translate stage's check of a
single-pair model's output language (:mod:`workbench.translate.langcheck`), so both judge a text
alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.core.errors import ConfigError

__all__ = ["identifier", "identifier_soon", "known_languages"]

#: the unrestricted identifier, loaded once per process (about a second: its model is unpickled)
_SHARED: Any = None


def identifier(languages: Sequence[str] | None = None, *, needed_by: str = "language identification") -> Any:
    """A py3langid ``LanguageIdentifier`` with normalised probabilities (``classify(text)`` ->
    ``(code, p)``). ``languages``: restrict it to these ISO 639-1 codes (a new identifier, since
    restricting changes it; py3langid's ``ValueError`` for an unknown code passes through);
    ``None``: all its languages, one identifier shared by the process (do not restrict it).
    ``needed_by`` names the caller in the :class:`ConfigError` raised when py3langid is missing."""
    global _SHARED
    if languages is None and _SHARED is not None:
        return _SHARED
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:
        raise ConfigError(f"{needed_by} needs the py3langid package", fix="pip install py3langid") from None
    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if languages is None:
        _SHARED = ident
    else:
        ident.set_languages(list(languages))
    return ident


_LOADING: Any = None


def identifier_soon(*, needed_by: str = "language identification") -> Any:
    """A future of the shared identifier (:func:`identifier` with no ``languages``), loaded in a
    background thread: loading decompresses a 4.5 MB LZMA model (a second or more), and LZMA
    releases the GIL, so a caller that needs the identifier only later (the translate stage's
    check) loses no time waiting for it. Errors (py3langid missing) come from ``result()``."""
    global _LOADING
    if _LOADING is None:
        from concurrent.futures import Future

        fut: Future = Future()
        if _SHARED is not None:
            fut.set_result(_SHARED)
        else:
            import threading

            def load() -> None:
                try:
                    fut.set_result(identifier(needed_by=needed_by))
                except BaseException as exc:  # handed to whoever asks for the result
                    fut.set_exception(exc)

            threading.Thread(target=load, name="workbench-langid", daemon=True).start()
        _LOADING = fut
    return _LOADING


def known_languages() -> frozenset[str]:
    """The codes py3langid can answer (``de``, ``sr``, ``yue``, ...)."""
    return frozenset(identifier().nb_classes)
