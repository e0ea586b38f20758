"""Optional reference-free quality estimation (COMET QE models) where the user installed it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.core.errors import ConfigError
from workbench.filter.base import (
    Decision,
    Filter,
    FilterContext,
    Item,
    named,
)

# -- optional QE model ---------------------------------------------------------------------------


@named("cometkiwi.v1")
@dataclass
class CometKiwi(Filter):
    """Reference-free quality estimation with a COMET QE model (needs ``unbabel-comet`` installed
    by the user, the model in the Hugging Face cache, and preferably a GPU).

    Attributes:
        model: Hugging Face model name or local checkpoint path.
        min_score: lowest accepted QE score (0..1).
        batch_size: sentences per model call.
        gpus: GPUs to use (0: CPU); ``None``: one if CUDA is available, else none.
    """

    model: str = "Unbabel/wmt22-cometkiwi-da"
    min_score: float = 0.5
    batch_size: int = 32
    gpus: int | None = None
    _model: Any = field(default=None, init=False, repr=False, compare=False)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in super().params().items() if not k.startswith("_")}

    def prepare(self, ctx: FilterContext) -> None:
        try:
            import comet  # noqa: F401
        except ImportError:
            raise ConfigError(
                "cometkiwi.v1 needs the unbabel-comet package, which is not installed",
                fix="pip install unbabel-comet (and accept the model's licence on the Hugging Face "
                    "Hub), or leave cometkiwi.v1 out of --filters") from None
        from pathlib import Path

        from comet import download_model, load_from_checkpoint

        path = self.model if Path(self.model).exists() else download_model(self.model)
        self._model = load_from_checkpoint(path)

    def decide(self, items: Sequence[Item], alive: Sequence[bool] | None = None) -> list[Decision]:
        data = [{"src": it.src_text or "", "mt": it.example.text} for it in items]
        gpus = self.gpus
        if gpus is None:
            import torch

            gpus = 1 if torch.cuda.is_available() else 0
        scores = self._model.predict(data, batch_size=self.batch_size, gpus=gpus).scores
        return [Decision(bool(s >= self.min_score), "ok" if s >= self.min_score else "low-qe",
                         f"QE {s:.3f}", float(s)) for s in scores]

