"""``workbench filter``: keep the examples that pass every filter, every decision stored."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from rich.table import Table

from workbench.cli.common import DbOpt, LockTimeoutOpt, app, console, store_at, styled


@app.command("filter")
def filter_cmd(
    ref: Annotated[str, typer.Argument(help="Version ref to filter: NAME or NAME@N.")],
    filters: Annotated[str, typer.Option("--filters", "-F", help="Comma-separated filter names: "
                       "length-ratio.v1, langid.v1, copy.v1, repeat-ngram.v1, mt-score.v1, "
                       "projection-complete.v1, span-confidence.v1, span-length.v1, duplicate.v1, "
                       "near-duplicate.v1, cometkiwi.v1.")],
    option: Annotated[Optional[list[str]], typer.Option("--option", "-O", help="A filter option "
                      "FILTER.OPTION=VALUE, e.g. length-ratio.v1.max=2.5 (repeatable).")] = None,
    force: Annotated[bool, typer.Option(help="Filter again even if the same filters already ran.")] = False,
    lock_timeout: LockTimeoutOpt = None,
    db: DbOpt = None,
) -> None:
    """Keep the examples that pass every filter, as a new version; every decision is stored
    (table filter_decisions, view filter_rows) with its filter, reason and measured value.

    Example: workbench filter sample-en.de -F langid.v1,length-ratio.v1 -O length-ratio.v1.max=2.5
    """
    from workbench.core.errors import ConfigError
    from workbench.filter import filter_version as run

    names = [n.strip() for n in filters.split(",") if n.strip()]
    opts: dict[str, str] = {}
    for item in option or []:
        key, eq, value = item.partition("=")
        if not eq:
            raise ConfigError(f"--option {item!r} has no '='",
                              fix="write FILTER.OPTION=VALUE, e.g. length-ratio.v1.max=2.5")
        opts[key.strip()] = value.strip()
    with console.status(f"filtering {ref} ..."):
        r = run(ref, filters=names, options=opts, store=store_at(db, lock_timeout=lock_timeout), force=force)
    console.print(styled("stored ", (r.version.ref, "bold"), f": {r.n_input} examples in, {r.n_kept} kept, "
                         f"{r.n_rejected} rejected"))
    t = Table("filter", "rejected", "not scored (kept)")
    for name in names:
        t.add_row(name, str(r.rejected_by.get(name, 0)), str(r.not_scored.get(name, 0)))
    console.print(t)
    console.print(f"reasons: workbench sql \"SELECT filter, reason, count(*) FROM filter_rows WHERE "
                  f"ref = '{r.version.ref}' AND NOT kept GROUP BY ALL\"")
