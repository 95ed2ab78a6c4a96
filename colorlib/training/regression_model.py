"""``loss: mse`` (the original design) and ``loss: huber``: the decoder regresses ab.

MSE is the original project's loss: the mean squared ab error over every pixel. Where the
training photos show one object in several colours, the prediction with the least squared error
is their average, so the colours come out safe and brownish. Huber counts large errors linearly
(:data:`colorlib.losses.HUBER_DELTA`), so a few photos with unexpected colours pull less.
"""

from __future__ import annotations

from typing import Any, ClassVar

from colorlib.training.base_model import ColorModel


class RegressionModel(ColorModel):
    """The decoder regresses ab with MSE or Huber, compiled with Keras' loss and trained by ``fit``."""

    losses: ClassVar[tuple[str, ...]] = ("mse", "huber")

    def loss_keys(self) -> dict[str, Any]:
        return {} if self.params.loss == "mse" else super().loss_keys()  # mse runs keep their keys
