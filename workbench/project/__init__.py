"""The project stage: put source spans onto translations (stored versions, or files), put spans
predicted on English back onto original sentences (translate-test), and score projections."""

from workbench.project.apply import ProjectReport
from workbench.project.back import back_projector, project_back, read_originals
from workbench.project.build import DEFAULT_PROJECTOR, make_projector
from workbench.project.evaluate import evaluate_alignment, evaluate_projection
from workbench.project.files import project_files
from workbench.project.stage import project

__all__ = ["DEFAULT_PROJECTOR", "ProjectReport", "back_projector", "evaluate_alignment",
           "evaluate_projection", "make_projector", "project", "project_back", "project_files",
           "read_originals"]
