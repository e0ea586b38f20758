"""Reports on stored versions: counts, projection outcomes, filter rejections, distributions and
differences, in the terminal and as a self-contained HTML page."""

from workbench.report.build import Report, VersionReport, build_report
from workbench.report.diff import VersionDiff, diff
from workbench.report.html import render_html, write_html
from workbench.report.terminal import render_terminal

__all__ = ["Report", "VersionDiff", "VersionReport", "build_report", "diff", "render_html",
           "render_terminal", "write_html"]
