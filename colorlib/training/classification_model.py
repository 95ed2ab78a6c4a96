"""``loss: classification``: colour as one of the ab classes, Zhang et al. 2016.

The ab plane is cut into the squares of :mod:`colorlib.color.colorclasses`; the decoder gives a
probability for each class at a quarter of the resolution, trained with a cross-entropy in which
rare colours count more (:class:`colorlib.losses.classification.ClassificationLoss`, weighted by
the run's cached ab). The colorizer turns the probabilities back into ab with the annealed mean.
"""

from __future__ import annotations

from typing import ClassVar

from colorlib.training.base_model import BuildInputs, ColorModel


class ClassificationModel(ColorModel):
    """The decoder classifies ab into colour classes, compiled with the rebalanced cross-entropy."""

    losses: ClassVar[tuple[str, ...]] = ("classification",)

    @property
    def classes(self) -> int:
        from colorlib.color import colorclasses

        return colorclasses.bin_count()

    def loss(self, inputs: BuildInputs):
        """The rebalanced cross-entropy over ab classes, with the run's class weights."""
        from colorlib import losses

        return losses.training_loss(self.params.loss, inputs.class_weights())
