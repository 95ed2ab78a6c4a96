"""Two optimizers seen by Keras as one: the generator's and the discriminator's of a GAN.

Keras' ``fit`` knows one optimizer per model (``model.optimizer``). On TensorFlow and PyTorch a
GAN's ``train_step`` can still update a second one in place, but on JAX the step is stateless:
the trainer passes in, and takes back, exactly the values of ``model.optimizer.variables``.
:class:`OptimizerPair` is that one optimizer: its variables are both optimizers' (the
generator's first), ``apply`` and ``stateless_apply`` hand each optimizer the gradients of its
own network, as Keras' own ``LossScaleOptimizer`` does with the optimizer it wraps.

A backup keeps the layout of the trainers before it: the pair saves the generator's optimizer
as the model's ``optimizer``, and the trainer keeps the discriminator's under ``d_optimizer``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras


class _Held:
    """The two optimizers, out of sight of Keras' saving (which walks a saveable's attributes):
    each is saved in its own place (see the module docstring), not a second time inside the pair."""

    def __init__(self, generator: keras.optimizers.Optimizer, discriminator: keras.optimizers.Optimizer):
        self.generator = generator
        self.discriminator = discriminator


class OptimizerPair(keras.optimizers.Optimizer):
    """``generator`` on the variables of ``generator_variables``, ``discriminator`` on the others.

    Build it with the generator's trainable variables followed by the discriminator's
    (:meth:`build_pair`); gradients come in the same order. Its learning rate and iterations are
    the generator optimizer's.
    """

    def __init__(
        self,
        generator: keras.optimizers.Optimizer,
        discriminator: keras.optimizers.Optimizer,
        name: str = "optimizer_pair",
    ) -> None:
        super().__init__(learning_rate=0.0, name=name)
        self._held = _Held(generator, discriminator)
        self._split = 0

    def parts(self) -> tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]:
        """The generator's optimizer and the discriminator's (methods, not attributes: Keras' saving
        walks a saveable's attributes, and each is saved in its own place already)."""
        return self._held.generator, self._held.discriminator

    def build_pair(self, generator_variables: Sequence, discriminator_variables: Sequence) -> None:
        """Build both optimizers, each on its network's trainable variables (one built already, as a
        recompiled trainer's discriminator optimizer is, keeps its state)."""
        for optimizer, variables in zip(
            self.parts(), (generator_variables, discriminator_variables), strict=True
        ):
            if not optimizer.built:
                optimizer.build(list(variables))
        self._split = len(generator_variables)
        super().build([*generator_variables, *discriminator_variables])

    def build(self, variables) -> None:
        if not self.built:
            raise ValueError(
                "Build an OptimizerPair with build_pair(generator variables, discriminator ones)."
            )

    @property
    def variables(self) -> list:
        return self._held.generator.variables + self._held.discriminator.variables

    def apply(self, grads, trainable_variables=None) -> None:
        """Each optimizer applies the gradients of its own variables (the pair's build order)."""
        variables = (
            list(trainable_variables) if trainable_variables is not None else self._trainable_variables
        )
        grads, split = list(grads), self._split
        self._held.generator.apply(grads[:split], variables[:split])
        if len(variables) > split:
            self._held.discriminator.apply(grads[split:], variables[split:])

    @property
    def iterations(self):
        return self._held.generator.iterations

    @property
    def learning_rate(self):
        return self._held.generator.learning_rate

    @learning_rate.setter
    def learning_rate(self, value) -> None:
        if hasattr(self, "_held"):  # the base class sets a rate of its own while it starts
            self._held.generator.learning_rate = value

    def save_own_variables(self, store) -> None:
        self._held.generator.save_own_variables(store)

    def load_own_variables(self, store) -> None:
        self._held.generator.load_own_variables(store)

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "generator": keras.optimizers.serialize(self._held.generator),
            "discriminator": keras.optimizers.serialize(self._held.discriminator),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> OptimizerPair:
        return cls(
            keras.optimizers.deserialize(config["generator"], custom_objects=custom_objects),
            keras.optimizers.deserialize(config["discriminator"], custom_objects=custom_objects),
            name=config["name"],
        )
