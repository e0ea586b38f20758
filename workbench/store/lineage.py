"""The version graph: the one walk of parents, for every question asked of a version's history.

A version names its parents by id. The first parent is the input a stage worked on (a translate,
project or filter version's input); a projected version's second parent is the source version
whose spans it projects. Walks stop at a missing parent and never loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from workbench.store.store import Store, Version

__all__ = ["ancestors", "chain", "nearest", "parent", "root", "source_version"]


def _graph(store: Store) -> dict[int, Version]:
    return {x.id: x for x in store.versions()}


def _walk(v: Version, by_id: dict[int, Version],
          step: Callable[[Version], int | None]) -> Iterator[Version]:
    """``v``, then the version ``step`` names, and so on; stops at a missing one or a loop."""
    seen: set[int] = set()
    cur: Version | None = v
    while cur is not None and cur.id not in seen:
        yield cur
        seen.add(cur.id)
        nxt = step(cur)
        cur = by_id.get(nxt) if nxt is not None else None


def _first(v: Version) -> int | None:
    return v.parents[0] if v.parents else None


def parent(store: Store, v: Version, index: int = 0) -> Version | None:
    """The ``index``-th parent of ``v``; ``None`` when it has none or it is missing."""
    if len(v.parents) <= index:
        return None
    return _graph(store).get(v.parents[index])


def chain(store: Store, v: Version) -> list[Version]:
    """``v`` and its first parents up to the root (the inputs it was made from, newest first)."""
    return list(_walk(v, _graph(store), _first))


def nearest(store: Store, v: Version, stage: str) -> Version | None:
    """``v`` or its nearest first-parent ancestor made by ``stage``, if any."""
    return next((x for x in _walk(v, _graph(store), _first) if x.stage == stage), None)


def root(store: Store, v: Version) -> Version:
    """The oldest ancestor on the source side (last parents): where the labels were ingested."""
    *_, last = _walk(v, _graph(store), lambda x: x.parents[-1] if x.parents else None)
    return last


def ancestors(store: Store, v: Version) -> list[Version]:
    """``v`` and all its ancestors through every parent, oldest first."""
    by_id = _graph(store)
    seen: dict[int, Version] = {}
    todo = [v]
    while todo:
        cur = todo.pop()
        if cur.id in seen:
            continue
        seen[cur.id] = cur
        todo.extend(by_id[p] for p in cur.parents if p in by_id)
    return sorted(seen.values(), key=lambda x: x.id)


def source_version(store: Store, v: Version) -> Version | None:
    """The version holding the source-language examples of ``v`` (same ids), if any.

    A projected version names it as its second parent; a translated version as its first; a
    filtered (or other derived) version inherits it from its input.
    """
    by_id = _graph(store)
    for cur in _walk(v, by_id, _first):
        if cur.stage == "project" and len(cur.parents) >= 2:
            return by_id.get(cur.parents[1])
        if cur.stage == "translate" and cur.parents:
            return by_id.get(cur.parents[0])
        if cur.stage == "ingest" or not cur.parents:
            return None
    return None
