"""The workbench's language identifier: py3langid (its model ships inside the package).

One place to load it, shared by the ``langid.v1`` filter and the translate stage's check of a
single-pair model's output language (:mod:`workbench.translate.langcheck`), so both judge a text
alike.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.core.errors import ConfigError

__all__ = ["identifier", "identifier_soon", "known_languages"]

#: the unrestricted identifier, loaded once per process
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
    ident = _from_cache(LanguageIdentifier)
    if ident is None:
        ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        _to_cache(ident)
    if languages is None:
        _SHARED = ident
    else:
        ident.set_languages(list(languages))
    return ident


# -- the decompressed model, kept between processes -------------------------------------------
# py3langid ships its model LZMA-compressed (4.5 MB); decompressing it is most of a load, on
# the cores a translation runs on. The arrays it holds are kept uncompressed (about 68 MB) in
# the user's cache and read from there, which is several times cheaper. The file is named by the
# package's version and the model file's size and time, so an upgrade reads a new one; it is
# written atomically, and any failure (read-only home, full disk, an odd file) falls back to
# py3langid's own loading.

_ARRAYS = ("nb_ptc", "nb_pc", "nb_classes", "tk_nextmove", "tk_row", "tk_output")


def cache_path() -> Path | None:
    """Where the decompressed model is kept: ``$WORKBENCH_CACHE`` (``off``: nowhere), else
    ``$XDG_CACHE_HOME/workbench`` or ``~/.cache/workbench``, under ``py3langid/``."""
    try:
        import py3langid
        from py3langid.langid import MODEL_DIR, MODEL_FILE

        model = Path(MODEL_DIR) / MODEL_FILE
        st = model.stat()
    except (ImportError, OSError, AttributeError):
        return None
    root = os.environ.get("WORKBENCH_CACHE")
    if root == "off":
        return None
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "workbench"
    version = getattr(py3langid, "__version__", "unknown")
    return base / "py3langid" / f"model-{version}-{st.st_size}-{st.st_mtime_ns}.npz"


def _from_cache(cls: Any) -> Any:
    import numpy as np

    path = cache_path()
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            nextmove, row = array(str(z["nextmove_code"])), array(str(z["row_code"]))
            nextmove.frombytes(z["tk_nextmove"].tobytes())
            row.frombytes(z["tk_row"].tobytes())
            return cls(z["nb_ptc"], z["nb_pc"], z["nb_classes"].tolist(), nextmove, z["tk_output"].tolist(),
                       norm_probs=True, tk_row=row)
    except Exception:  # noqa: BLE001 - a damaged or foreign file: py3langid loads its own
        return None


def _to_cache(ident: Any) -> None:
    import numpy as np

    path = cache_path()
    if path is None:
        return
    try:
        arrays = {name: getattr(ident, name) for name in _ARRAYS}
        nextmove, row = arrays["tk_nextmove"], arrays["tk_row"]
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".model-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, nb_ptc=np.asarray(arrays["nb_ptc"]), nb_pc=np.asarray(arrays["nb_pc"]),
                         nb_classes=np.array(arrays["nb_classes"]),
                         tk_nextmove=np.frombuffer(nextmove, dtype=f"u{nextmove.itemsize}"),
                         nextmove_code=np.array(nextmove.typecode),
                         tk_row=np.frombuffer(row, dtype=f"u{row.itemsize}"), row_code=np.array(row.typecode),
                         tk_output=np.asarray(arrays["tk_output"], dtype=np.int64))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except Exception:  # noqa: BLE001 - an optimisation only: the next load decompresses again
        return


_LOADING: Any = None


def identifier_soon(*, needed_by: str = "language identification") -> Any:
    """A future of the shared identifier (:func:`identifier` with no ``languages``), loaded in a
    background thread: a first load decompresses a 4.5 MB LZMA model (later ones read the user
    cache), and LZMA and file reads release the GIL, so a caller that needs the identifier only
    later (the translate stage's check) loses no time waiting for it. Errors (py3langid missing) come from ``result()``."""
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
