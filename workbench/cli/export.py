"""``workbench export`` (CoNLL, JSONL, Parquet, the Hub layout) and ``workbench push``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from workbench.cli.common import DbOpt, app, console, sigterm_unwinds, store_at


@app.command("export")
def export_cmd(
    refs: Annotated[list[str], typer.Argument(help="Version ref(s): NAME or NAME@N (several for "
                    "--format hf: one config each).")],
    out: Annotated[Path, typer.Option("--output", "-o", help="Output file or directory.")],
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="conll, jsonl, parquet or hf "
                      "(Hugging Face Hub layout with dataset card); default: from the output's extension "
                      "(.conll, .jsonl, .parquet; none: hf).")] = None,
    scheme: Annotated[str, typer.Option(help="Tag scheme for CoNLL.")] = "iob2",
    comments: Annotated[bool, typer.Option(help="CoNLL: write # sent_id and # text comments.")] = False,
    config_name: Annotated[Optional[list[str]], typer.Option("--config-name", help="hf: config "
                           "name per ref (default: the version's language).")] = None,
    license: Annotated[Optional[str], typer.Option(help="hf: licence id for the card, e.g. "
                       "cc-by-4.0.")] = None,
    license_details: Annotated[Optional[str], typer.Option(help="hf: licence terms or attribution "
                               "text for the card.")] = None,
    source_license: Annotated[Optional[str], typer.Option(help="hf: licence of the source "
                              "corpus.")] = None,
    pretty_name: Annotated[Optional[str], typer.Option(help="hf: title of the card.")] = None,
    overwrite: Annotated[bool, typer.Option(help="hf: replace a directory that is not a "
                         "workbench export, or an export of other corpora.")] = False,
    db: DbOpt = None,
) -> None:
    """Write stored version(s) to a file, or to a Hub-ready dataset directory (--format hf).

    Example: workbench export sample-en.de sample-en.es -f hf -o out/hf --license cc-by-4.0
    """
    from workbench.export.stage import export as run
    from workbench.export.stage import export_format

    format = export_format(out, format)
    if format == "conll":
        opts: dict[str, Any] = {"scheme": scheme, "comments": comments}
    elif format == "hf":
        opts = {"config_names": config_name or None, "license": license,
                "license_details": license_details, "source_license": source_license,
                "pretty_name": pretty_name, "overwrite": overwrite}
    else:
        opts = {}
    n = run(refs, out, format=format, store=store_at(db), **opts)
    console.print(f"wrote {n} examples to {out} ({format})")


@app.command()
def push(
    refs: Annotated[list[str], typer.Argument(help="Version ref(s) to push (one config each).")],
    repo_id: Annotated[str, typer.Option("--repo-id", help="Dataset repository: OWNER/NAME.")],
    private: Annotated[bool, typer.Option(help="Create the repository as private.")] = False,
    config_name: Annotated[Optional[list[str]], typer.Option("--config-name", help="Config "
                           "name per ref (default: the version's language).")] = None,
    license: Annotated[Optional[str], typer.Option(help="Licence id for the card.")] = None,
    license_details: Annotated[Optional[str], typer.Option(help="Licence terms for the card.")] = None,
    source_license: Annotated[Optional[str], typer.Option(help="Licence of the source corpus.")] = None,
    pretty_name: Annotated[Optional[str], typer.Option(help="Title of the card.")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", envvar="WORKBENCH_PUSH_TIMEOUT",
                       min=0.001, help="Seconds each request to the Hub may wait to connect or for "
                       "the next bytes of an answer; one that waits longer ends the push.",
                       show_default="60")] = None,
    db: DbOpt = None,
) -> None:
    """Export version(s) in the Hub layout and upload them to a Hugging Face dataset repository.

    The token comes from HF_TOKEN or `hf auth login`; it is never printed. Stopped by Ctrl-C or
    SIGTERM, it removes its temporary files.

    Example: workbench push sample-en.de sample-en.es --repo-id me/sample-ner --license cc-by-4.0
    """
    from workbench.export.push import push as run

    # no default of its own: the library's DEFAULT_TIMEOUT is the one (imported at module level, it
    # would slow every command); test_the_default_timeout_is_finite checks the help's "60"
    limit: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    with sigterm_unwinds(), console.status(f"pushing to {repo_id} ..."):
        res = run(refs, repo_id, private=private, config_names=config_name, store=store_at(db),
                  license=license, license_details=license_details,
                  source_license=source_license, pretty_name=pretty_name, **limit)
    console.print(f"pushed {len(res.files)} files (configs: {', '.join(res.configs)}) to "
                  f"{res.repo_url}")
