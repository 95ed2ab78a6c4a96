"""``hints: true``: a U-Net that also takes a few colour points from the user (Zhang, Zhu et al. 2017).

It trains like :class:`~colorlib.training.regression_model.RegressionModel`, on batches that carry
hints simulated from the true colours (:mod:`colorlib.data.hints`). ``hint_spread: true`` adds the
head of :mod:`colorlib.archs.hintspread_arch`, which spreads the hints through a bilateral grid;
started from a finished U-Net (``init_run``), only that head trains.
"""

from __future__ import annotations

from typing import Any

from colorlib.training.regression_model import RegressionModel


class HintModel(RegressionModel):
    """A hint-aware U-Net regressing ab; with ``hint_spread``, the spread head on a finished U-Net."""

    @property
    def reads_hints(self) -> bool:
        return True

    def decoder_keys(self, *names: str) -> dict[str, Any]:
        chosen = super().decoder_keys(*names)
        if "decoder" in names:  # absent otherwise, so runs without hints keep their keys
            chosen["hints"] = True
            if self.params.hint_spread:
                chosen["hint_spread"] = True
        return chosen

    def unet_options(self) -> dict[str, Any]:
        return {"hints": True, "spread": self.params.hint_spread}

    def warm_start(self, decoder, start_decoder) -> None:
        """The finished U-Net's weights; with ``hint_spread``, only the spread head trains after."""
        from colorlib.archs import hintspread_arch

        super().warm_start(decoder, start_decoder)
        if self.params.hint_spread:
            hintspread_arch.train_only_head(decoder)
