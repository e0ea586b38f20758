"""The ``workbench`` command line: thin commands over the stage functions (only the CLI prints or exits).

:mod:`workbench.cli.common` holds the app and the options shared by commands; each module below
registers the commands of one group, imported here in flow order.
"""

from workbench.cli import load, store, translate, project, filter, report, export, pipeline  # noqa: F401,I001 - registers the commands, in flow order
from workbench.cli.common import app, run

__all__ = ["app", "run"]
