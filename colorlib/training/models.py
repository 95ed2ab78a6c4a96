"""The training schemes by name: the one a run's parameters choose (BasicSR's ``build_model``).

``loss`` names the scheme; ``hints: true`` turns a regression into its hint-aware version. A new
scheme is a new module with a :class:`~colorlib.training.base_model.ColorModel` subclass, listed in
:data:`SCHEMES`; nothing else branches on the loss.
"""

from __future__ import annotations

from colorlib.core.params import Params
from colorlib.training.adversarial_model import DDColorModel, GANModel
from colorlib.training.base_model import ColorModel
from colorlib.training.classification_model import ClassificationModel
from colorlib.training.hint_model import HintModel
from colorlib.training.regression_model import RegressionModel

#: Each scheme, and the one that trains it with colour hints (None: it takes hints only through its
#: generator, or not at all).
SCHEMES: dict[str, tuple[type[ColorModel], type[ColorModel] | None]] = {
    "mse": (RegressionModel, HintModel),
    "huber": (RegressionModel, HintModel),
    "classification": (ClassificationModel, None),
    "gan": (GANModel, None),
    "ddcolor": (DDColorModel, None),
}


def model_for(params: Params) -> ColorModel:
    """The scheme that trains the run ``params`` describes."""
    if params.loss not in SCHEMES:
        raise ValueError(f"No training scheme for loss {params.loss!r}; choose one of {', '.join(SCHEMES)}.")
    plain, with_hints = SCHEMES[params.loss]
    return (with_hints or plain)(params) if params.hints else plain(params)


__all__ = ["SCHEMES", "model_for"]
