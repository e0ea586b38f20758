"""What every command shares: the app, the consoles, the error handling, and options defined once
(``--db``, the execution options of translate and project).

The CLI is the only package that prints or exits; the library raises typed errors
(:mod:`workbench.core.errors`). One module per command group registers its commands on
:data:`app` (``workbench/cli/__init__.py`` imports them in flow order).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import signal
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup, TyperOption

from workbench._version import __version__
from workbench.core.errors import ConfigError, WorkbenchError

# markup OFF: corpus text, file and corpus names, SQL results and error messages are printed as
# they are ("[citation needed]", "x[abc].conll", "pip install 'workbench[ray]'"); styled parts are
# built with :func:`styled`
console = Console(markup=False)
err = Console(stderr=True, markup=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of plain text with styled parts: ``styled(("stored ", ""), (ref, "bold"), ": ...")``."""
    return Text.assemble(*parts)


def _print_error(exc: BaseException) -> None:
    err.print(styled(("error:", "bold red"), " ", str(exc)), soft_wrap=True)


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    # typer 0.29 labels every on/off flag "<bool>", though a flag takes no value: show none
    return None if self.is_bool_flag else _typer_type(self, ctx)


_typer_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


class _Group(TyperGroup):
    """Every command's :class:`WorkbenchError` becomes ``error: ...`` on stderr and exit 1, with
    no traceback; commands need no try/except of their own."""

    def invoke(self, ctx: Any) -> Any:
        with warnings.catch_warnings():
            warnings.showwarning = _print_warning  # "warning: ..." lines, not a source excerpt
            try:
                return super().invoke(ctx)
            except WorkbenchError as exc:
                _print_error(exc)
                raise typer.Exit(1) from None


def _print_warning(message: Any, *args: Any, **kwargs: Any) -> None:
    err.print(styled(("warning:", "yellow"), " ", str(message)), soft_wrap=True)


app = typer.Typer(
    name="workbench",
    cls=_Group,
    help="Turn a span-labelled dataset into training or test data in other languages.\n\n"
    "Stages: ingest -> translate -> project -> filter -> export; every stage stores a new "
    "immutable version in a DuckDB file you can query with SQL.",
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    add_completion=False,
)

DbOpt = Annotated[
    Optional[Path],
    typer.Option("--db", envvar="WORKBENCH_DB", help="Corpus store (DuckDB file).",
                 show_default="workbench.duckdb"),
]


LockTimeoutOpt = Annotated[
    Optional[float],
    typer.Option("--lock-timeout", envvar="WORKBENCH_COMMIT_TIMEOUT", help="Seconds the final commit "
                 "waits while another process holds the store (a long read); default: as long as it "
                 "takes, so computed work is not lost.", show_default=False),
]


def store_at(db: Path | None, *, init: bool = False, lock_timeout: float | None = None) -> Any:
    """The store named by ``--db`` / ``WORKBENCH_DB`` (default ``workbench.duckdb``); while it
    waits for the lock it says so on stderr every few seconds."""
    from workbench.store.store import Store

    store = Store(db, init=init) if db else Store(init=init)
    if lock_timeout is not None:
        store.commit_timeout = lock_timeout
    store.on_wait = lambda msg: err.print(styled(("waiting:", "yellow"), " ", msg))
    return store


class Terminated(BaseException):
    """SIGTERM, raised in the main thread by :func:`sigterm_unwinds`. A BaseException, like
    KeyboardInterrupt, so that the library's ``except Exception`` blocks let it through."""


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` instead of ending Python on the spot
    (its default, which skips ``finally`` blocks and context managers: push's temporary directory
    would stay behind); the command then exits 143 (128 + SIGTERM). The old handler comes back after."""
    if threading.current_thread() is not threading.main_thread():  # signal.signal works only there
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM does not cut the cleanup short
        raise Terminated()

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except Terminated:
        err.print(styled(("stopped:", "bold red"), " terminated (SIGTERM); temporary files removed"))
        raise typer.Exit(128 + signal.SIGTERM) from None
    finally:
        signal.signal(signal.SIGTERM, old)


def arrow_table(tbl: Any, limit: int | None = None) -> Table:
    """A rich table of an Arrow table's rows."""
    t = Table(show_lines=False)
    for name in tbl.column_names:
        t.add_column(name, overflow="fold")
    for row in tbl.to_pylist()[:limit]:
        t.add_row(*("" if v is None else str(v) for v in row.values()))
    return t


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"workbench {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback,
                                          is_eager=True, help="Show the version.")] = False,
) -> None:
    """Workbench: label projection data pipeline."""


def parse_options(items: list[str] | None) -> dict[str, Any]:
    """``--option KEY=VALUE`` items as a dict (values parsed as JSON where they are JSON)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ConfigError(f"bad option {item!r}", fix="write --option KEY=VALUE, e.g. --option n_runs=3")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


# -- execution options, shared by translate and project ------------------------------------------
def _executor_choice(value: str) -> str:
    from workbench.executors.options import EXECUTORS

    if value not in EXECUTORS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(EXECUTORS)}")
    return value


ExecutorOpt = Annotated[str, typer.Option(
    "--executor", callback=_executor_choice, rich_help_panel="Execution",
    help="Where the stage runs: local (this process) or ray (a Ray cluster; pip install "
    "'workbench\\[ray]').")]  # help is rich markup: the backslash keeps the bracket
RayAddressOpt = Annotated[Optional[str], typer.Option(
    "--ray-address", envvar="RAY_ADDRESS", rich_help_panel="Execution",
    help="Ray cluster to join (auto, ray://head:10001, host:6379); default: start a local Ray.")]
WorkersOpt = Annotated[int, typer.Option(
    "--workers", min=1, rich_help_panel="Execution",
    help="Ray workers (each loads the model once); --executor ray only.")]
GpusPerWorkerOpt = Annotated[float, typer.Option(
    "--gpus-per-worker", min=0.0, rich_help_panel="Execution",
    help="GPUs per worker (1 = one worker per GPU; fractions share a GPU).")]
CpusPerWorkerOpt = Annotated[float, typer.Option(
    "--cpus-per-worker", min=0.01, rich_help_panel="Execution",
    help="CPU cores per Ray worker (also its compute threads).")]
StagingOpt = Annotated[Optional[str], typer.Option(
    "--staging", rich_help_panel="Execution",
    help="Directory or URL (s3://bucket/prefix) every worker can reach, for shard files; "
    "default: .wb-shards beside the store.")]
ShardSizeOpt = Annotated[int, typer.Option(
    "--shard-size", min=1, rich_help_panel="Execution",
    help="Examples per shard (the unit of retry and resume); --executor ray only.")]


def _executor_options(executor: str = "local", ray_address: str | None = None, workers: int = 1,
                      gpus_per_worker: float = 0.0, cpus_per_worker: float = 1.0,
                      staging: str | None = None, shard_size: int = 256) -> Any:
    """:class:`~workbench.executors.options.ExecutorOptions` from the shared CLI options."""
    from workbench.executors.options import ExecutorOptions

    return ExecutorOptions(executor=executor, ray_address=ray_address, workers=workers,
                           gpus_per_worker=gpus_per_worker, cpus_per_worker=cpus_per_worker,
                           staging=staging, shard_size=shard_size).validate()


#: the execution options as (parameter, annotation, default), in --help order
_EXECUTOR_PARAMS: list[tuple[str, Any, Any]] = [
    ("executor", ExecutorOpt, "local"), ("ray_address", RayAddressOpt, None),
    ("workers", WorkersOpt, 1), ("gpus_per_worker", GpusPerWorkerOpt, 0.0),
    ("cpus_per_worker", CpusPerWorkerOpt, 1.0), ("staging", StagingOpt, None),
    ("shard_size", ShardSizeOpt, 256),
]


def executor_options(command: Any) -> Any:
    """Give ``command`` the execution options (``--executor``, ``--workers``, ...), defined once
    here: they reach it as one ``executor_options`` argument, an
    :class:`~workbench.executors.options.ExecutorOptions`. Put it under ``@app.command()``."""
    sig = inspect.signature(command)
    hints = {k: v for k, v in _resolved_hints(command).items() if k != "executor_options"}
    own = [p.replace(annotation=hints.get(name, p.annotation))  # Typer reads the Annotated options
           for name, p in sig.parameters.items() if name != "executor_options"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annot)
             for name, annot, default in _EXECUTOR_PARAMS]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        chosen = {name: kwargs.pop(name) for name, _, _ in _EXECUTOR_PARAMS if name in kwargs}
        return command(*args, executor_options=_executor_options(**chosen), **kwargs)

    wrapper.__signature__ = sig.replace(parameters=own + added)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**hints, **{name: annot for name, annot, _ in _EXECUTOR_PARAMS}}
    del wrapper.__wrapped__  # Typer reads the new signature, not the command's own
    return wrapper


def _resolved_hints(fn: Any) -> dict[str, Any]:
    import typing

    return typing.get_type_hints(fn, include_extras=True)


def run() -> None:
    """Console-script entry point."""
    # the CLI shows its own progress; Hugging Face's bars ("Loading weights", downloads) would
    # interleave with it (read when huggingface_hub is first imported, which happens lazily)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    app()
