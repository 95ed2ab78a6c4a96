"""The GAN trainer's steps on JAX, stateless, as Keras' JAX trainer calls them (and jit-compiles them).

Keras passes the values of the trainer's variables as ``state`` and takes new ones back; nothing
is changed in place. One step of :class:`colorlib.training.gan.GANTrainer`:

1. the losses are computed once, by the same code as on the other backends
   (``GANTrainer._step_losses``), inside a ``keras.StatelessScope`` that maps every variable of
   the trainer to its value in ``state``;
2. ``jax.vjp`` of that computation with respect to the generator's and the discriminator's
   trainable values is pulled back twice: ``loss`` for the generator's gradients and ``d_loss``
   for the discriminator's (the other network's share of each is dropped);
3. the trainer's :class:`~colorlib.training.optimizer_pair.OptimizerPair` applies both with
   ``stateless_apply``, and the loss trackers are updated with ``stateless_update_state``.

``state`` is ``(trainable, non_trainable, optimizer, metrics)`` values for a step and
``(trainable, non_trainable, metrics)`` for an evaluation, in the orders of
``trainer.trainable_variables``, ``trainer.non_trainable_variables``, ``trainer.optimizer.variables``
and ``trainer.metrics_variables``.
"""

from __future__ import annotations

from typing import Any

import keras


def _positions(trainer) -> tuple[list[int], list[int]]:
    """Where the generator's and the discriminator's trainable variables are among the trainer's."""
    at = {id(variable): index for index, variable in enumerate(trainer.trainable_variables)}
    decoder = [at[id(variable)] for variable in trainer.decoder.trainable_variables]
    discriminator = (
        [at[id(variable)] for variable in trainer.discriminator.trainable_variables]
        if trainer.discriminator is not None
        else []
    )
    return decoder, discriminator


def _losses_in(trainer, trainable, non_trainable, inputs, ab, training: bool) -> tuple[dict, list]:
    """The step's losses at these variable values, and the non-trainable values after it."""
    mapping = list(zip(trainer.trainable_variables, trainable, strict=True))
    mapping += list(zip(trainer.non_trainable_variables, non_trainable, strict=True))
    with keras.StatelessScope(state_mapping=mapping) as scope:
        losses = trainer._step_losses(inputs, ab, training=training)
    return losses, [scope.get_current_value(variable) for variable in trainer.non_trainable_variables]


def _update_trackers(trainer, metrics_values, losses: dict) -> tuple[dict, list]:
    """The loss trackers updated with this step's losses: the logs and the new metric values."""
    logs, updated = {}, []
    for name, tracker in trainer.trackers.items():
        count = len(tracker.variables)
        values = metrics_values[len(updated) : len(updated) + count]
        values = tracker.stateless_update_state(values, losses[name])
        logs[name] = tracker.stateless_result(values)
        updated += list(values)
    return logs, updated


def train_step(trainer, state, data) -> tuple[dict[str, Any], tuple]:
    """One stateless step of both networks (see the module docstring): ``(logs, new state)``."""
    import jax
    import jax.numpy as jnp

    trainable, non_trainable, optimizer_values, metrics_values = state
    inputs, ab = data[0], data[1]
    decoder_at, discriminator_at = _positions(trainer)

    def losses_of(decoder_values, discriminator_values):
        values = list(trainable)
        for index, value in zip(
            decoder_at + discriminator_at, decoder_values + discriminator_values, strict=True
        ):
            values[index] = value
        losses, new_non_trainable = _losses_in(trainer, values, non_trainable, inputs, ab, training=True)
        d_loss = losses.get("d_loss", jnp.zeros(()))
        return (losses["loss"], d_loss), (losses, new_non_trainable)

    decoder_values = [trainable[index] for index in decoder_at]
    discriminator_values = [trainable[index] for index in discriminator_at]
    (loss, _), pull_back, (losses, non_trainable) = jax.vjp(
        losses_of, decoder_values, discriminator_values, has_aux=True
    )
    one, zero = jnp.ones_like(loss), jnp.zeros_like(loss)
    decoder_gradients, _ = pull_back((one, zero))
    _, discriminator_gradients = pull_back((zero, one))
    updated, optimizer_values = trainer.optimizer.stateless_apply(
        optimizer_values,
        list(decoder_gradients) + list(discriminator_gradients),
        decoder_values + discriminator_values,
    )
    trainable = list(trainable)
    for index, value in zip(decoder_at + discriminator_at, updated, strict=True):
        trainable[index] = value
    logs, metrics_values = _update_trackers(trainer, metrics_values, losses)
    return logs, (trainable, non_trainable, optimizer_values, metrics_values)


def test_step(trainer, state, data) -> tuple[dict[str, Any], tuple]:
    """The losses of a validation batch, nothing trained: ``(logs, new state)``."""
    trainable, non_trainable, metrics_values = state
    losses, non_trainable = _losses_in(trainer, trainable, non_trainable, data[0], data[1], training=False)
    logs, metrics_values = _update_trackers(trainer, metrics_values, losses)
    return logs, (trainable, non_trainable, metrics_values)
