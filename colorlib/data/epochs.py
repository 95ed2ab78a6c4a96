"""Which batch a training dataset serves: epochs cut from passes over its items, and the rest of an
epoch after an interruption. Shared by the feature cache (:mod:`colorlib.data.featuredata`) and the
streamed photos (:mod:`colorlib.data.streaming`).

One pass is one (shuffled) order of every item, ``pass_length`` batches. Without ``steps_per_epoch``
an epoch is one pass, pass e for epoch e; with it, the passes are cut into epochs of that many
batches, one after the other: epoch e serves batches ``e·steps … (e+1)·steps − 1`` of that stream.
"""

from __future__ import annotations


class EpochSchedule:
    """The epoch bookkeeping of a ``keras.utils.PyDataset``. A subclass sets ``epoch``,
    ``first_batch`` and ``steps_per_epoch`` (None: one pass per epoch), gives ``pass_length`` and may
    override :meth:`_restart`."""

    epoch: int
    first_batch: int
    steps_per_epoch: int | None

    @property
    def pass_length(self) -> int:
        raise NotImplementedError

    @property
    def epoch_length(self) -> int:
        """Batches in a whole epoch: ``steps_per_epoch``, or one pass."""
        return self.steps_per_epoch or self.pass_length

    def __len__(self) -> int:
        return self.epoch_length - self.first_batch

    def _restart(self) -> None:
        """Drop what was prepared for the batches served so far (nothing here)."""

    def set_epoch(self, epoch: int) -> None:
        """Serve the batches of epoch ``epoch`` (0-based) next: what a resumed fit calls first, so that
        it sees the batches an uninterrupted run would."""
        if int(epoch) != self.epoch:
            self._restart()
        self.epoch = int(epoch)

    def start_at(self, batch: int) -> None:
        """Serve only batches ``batch …`` of each epoch (0: all of them): the rest of an epoch cut off
        after ``batch`` batches (:func:`colorlib.training.resume.finish_interrupted_epoch`). Set it
        before the ``fit``: Keras reads the length once."""
        if not 0 <= batch < self.epoch_length:
            raise ValueError(f"An epoch has batches 0..{self.epoch_length - 1}; cannot start at {batch}.")
        self._restart()
        self.first_batch = int(batch)

    def pass_and_batch(self, index: int) -> tuple[int, int]:
        """``(pass, batch within that pass)`` of the ``index``-th batch served in the current epoch
        (batch ``first_batch + index`` of the epoch; see the module docstring)."""
        index += self.first_batch
        step = self.epoch * self.epoch_length + index if self.steps_per_epoch else index
        pass_index, batch = divmod(step, self.pass_length)
        return (pass_index if self.steps_per_epoch else self.epoch), batch


__all__ = ["EpochSchedule"]
