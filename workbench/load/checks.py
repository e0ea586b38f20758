"""Checks of decoded JSON values that readers share (JSON lines, Parquet's ``meta`` column):
the JSON type a field must have, lone surrogates, and how deep ``meta`` may nest."""

from __future__ import annotations

import re
from typing import Any

from workbench.core.errors import InputError

__all__ = ["MAX_META_DEPTH", "SURROGATE_ESCAPE", "check_meta", "json_kind", "lone_surrogate", "want"]

#: how deep ``meta`` may nest. Every later stage reads it back (``json.loads``) and writes it
#: again (``json.dumps``); both recurse, and Python allows about 1000 frames, shared with the
#: caller's stack. A bound far below that keeps every stage able to, whatever calls it.
MAX_META_DEPTH = 100

#: a ``\\uD800``-``\\uDFFF`` escape: the only way JSON text can hold a surrogate (UTF-8 cannot);
#: looked for in the raw text first so that records without one cost nothing
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def json_kind(value: Any) -> str:
    """The JSON name of a value's type, for messages: ``a string``, ``a list``, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_NAMES = {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "an object"}


def want(value: Any, types: type | tuple[type, ...], what: str, where: str, fix: str, *,
         null: bool = False) -> Any:
    """``value`` when it has one of ``types`` (``int`` never admits true/false; ``float`` admits
    integers); else an :class:`InputError` saying what ``what`` is and what it should be."""
    kinds = types if isinstance(types, tuple) else (types,)
    if value is None and null:
        return value
    ok = not isinstance(value, bool) and (
        isinstance(value, kinds) or (float in kinds and isinstance(value, int)))
    if not ok:
        expected = " or ".join(_NAMES.get(k, k.__name__) for k in kinds) + (" or null" if null else "")
        shown = repr(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise InputError(f"{what} is {json_kind(value)} ({shown}), not {expected}", where=where, fix=fix)
    return value


def lone_surrogate(obj: Any, at: str = "") -> str | None:
    """The field (``meta.note``, ``label[2][2]``) of the first string in ``obj`` holding half of a
    UTF-16 surrogate pair, which no UTF-8 store can hold; None if there is none."""
    stack: list[tuple[Any, str]] = [(obj, at)]
    while stack:
        value, here = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return here or "the record"
        elif isinstance(value, dict):
            for k, v in value.items():
                if lone_surrogate(k) is not None:
                    return f"a key of {here or 'the record'}"
                stack.append((v, f"{here}.{k}" if here else str(k)))
        elif isinstance(value, list):
            stack.extend((v, f"{here}[{i}]") for i, v in enumerate(value))
    return None


def _depth(value: Any) -> int:
    """How deep lists and objects nest in ``value`` (0 for a scalar); iterative, so any depth."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        items = v.values() if isinstance(v, dict) else v if isinstance(v, list) else None
        if items is None:
            continue
        deepest = max(deepest, d)
        stack.extend((x, d + 1) for x in items if isinstance(x, (dict, list)))
    return deepest


def check_meta(meta: Any, where: str) -> dict[str, Any]:
    """``meta`` as a dict (null: empty); an object nested past :data:`MAX_META_DEPTH` or any
    other JSON type is an :class:`InputError`."""
    if meta is None:
        return {}
    want(meta, dict, "'meta'", where, "give meta as a JSON object of your fields, or leave it out")
    depth = _depth(meta)
    if depth > MAX_META_DEPTH:
        raise InputError(f"'meta' nests {depth} levels deep (at most {MAX_META_DEPTH})", where=where,
                         fix="flatten meta: it is free metadata that every stage reads and writes again")
    return dict(meta)
