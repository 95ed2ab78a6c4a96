"""One process of a data-parallel training on JAX, for ``tests/test_streaming.py``.

A tiny colorizer (L -> ab, two convolutions, SGD) trains on photos decoded from shards
(:class:`colorlib.data.streaming.StreamDataset`) with colorlib's callbacks (backups after every
batch, history, resume), under ``keras.distribution.DataParallel`` over every device of every
process (:mod:`colorlib.training.distribute`). Process 0 saves the final weights. Run it with
``KERAS_BACKEND=jax``; the test starts one process, one with two virtual devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``), or two on 127.0.0.1::

    python tests/distributed_run.py SHARDS OUT [--processes 2 --index I --port P] [--cut EPOCH:BATCH]

``--cut`` stops both processes after that batch, as a kill would (the backup has it); run the same
command again to resume.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPOCHS, GLOBAL_BATCH, SIZE, SEED = 3, 4, 32, 3


def tiny_colorizer():
    import keras

    inputs = keras.Input((SIZE, SIZE, 1))
    hidden = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    outputs = keras.layers.Conv2D(2, 3, padding="same", activation="tanh")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss="mse")
    return model


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("shards", type=Path)
    parser.add_argument("out", type=Path, help="the run's folder: backups, history and final.weights.h5")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--index", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cut", help="EPOCH:BATCH (0-based): stop after that batch")
    args = parser.parse_args()

    from colorlib.training import distribute

    if args.processes > 1:
        distribute.initialize(f"127.0.0.1:{args.port}", args.processes, args.index)
    import keras

    from colorlib.data import featuredata, shards, streaming
    from colorlib.training import fitting, resume

    distribute.use_data_parallel()
    index, count = distribute.process()
    shard_set = shards.open_shards(args.shards)
    common = {"image_size": SIZE, "seed": SEED, "process_index": index, "process_count": count}
    common |= {"batch_size": GLOBAL_BATCH // count, "drop_remainder": True}
    train = streaming.StreamDataset(shard_set, "train", **common)
    validation = streaming.StreamDataset(shard_set, "validation", shuffle=False, **common)
    keras.utils.set_random_seed(0)
    model = tiny_colorizer()
    callbacks = [
        featuredata.DatasetEpoch(train),
        *fitting.callbacks(args.out, chief=distribute.is_chief(), backup_every_s=0.0),
    ]
    if args.cut:
        epoch, batch = (int(part) for part in args.cut.split(":"))

        class Cut(keras.callbacks.Callback):
            def on_epoch_begin(self, current, logs=None):
                self.epoch = current

            def on_train_batch_end(self, current, logs=None):
                if (self.epoch, current) == (epoch, batch):
                    raise KeyboardInterrupt("cut")

        callbacks.append(Cut())
    try:
        resume.finish_interrupted_epoch(model, train, validation, EPOCHS, callbacks, verbose=0)
        model.fit(
            train, validation_data=validation, epochs=EPOCHS, callbacks=callbacks, shuffle=False, verbose=0
        )
    except KeyboardInterrupt:
        print(f"process {index}: cut", flush=True)
        return 3
    distribute.save_on_chief(args.out / "final.weights.h5", model.save_weights, ".weights.h5")
    print(f"process {index} of {count}: trained on {keras.distribution.list_devices()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
