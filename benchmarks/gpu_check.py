"""The GPU path, checked in one script: a machine with one NVIDIA GPU, JAX (and PyTorch), no
TensorFlow and no network (issue 39).

1. **The notebook chain** (``make pipeline``'s five notebooks, through papermill) on a JAX kernel, with
   the smoke parameters: every stage of a run works without TensorFlow, on the GPU.
2. **A streamed training** of the U-Net (``params/larger/1-unet-mse.yaml``'s design: Lite0, 256 × 256)
   on the photos of a shard folder carried to the machine (``--shards``), one epoch or ``--steps``,
   timed: photos per second and steps per second of the second half of the steps (the first ones
   compile the step).

It prints both and writes them to ``--out`` (JSON). Prepare what travels with
``benchmarks/gpu_wheels.sh`` (the Python 3.12 wheels JAX's image lacks, and the shards), then, there::

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site:$PWD JUPYTER_PATH=/tmp/site/share/jupyter KERAS_BACKEND=jax
    python3 benchmarks/gpu_check.py --shards .shards --out $OUT/gpu.json

(``JUPYTER_PATH``: where nbconvert's report templates land with ``--target``.) Here, without a GPU,
``--allow-cpu`` runs the same steps on JAX's CPU, as a check of the script.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
#: The streamed run: the U-Net of the larger comparison, its batch, and the steps timed.
IMAGE_SIZE, BATCH, STEPS = 256, 32, 60


def devices(allow_cpu: bool) -> list[str]:
    import jax

    found = [str(device) for device in jax.devices()]
    if jax.default_backend() == "cpu" and not allow_cpu:
        raise SystemExit(f"JAX sees no GPU here ({found}); give --allow-cpu to check this script on the CPU.")
    return found


def notebook_chain(work: Path) -> float:
    """The five notebooks with the smoke parameters on this Python's kernel (KERAS_BACKEND=jax); seconds."""
    import yaml

    from colorlib.workflow import chain

    params = yaml.safe_load((ROOT / "params" / "smoke.yaml").read_text())
    params |= {"run_name": "smoke-gpu", "data_dir": str(work / "data")}
    params_file = work / "smoke-gpu.yaml"
    params_file.write_text(yaml.safe_dump(params))
    start = time.perf_counter()
    chain.run_chain(params_file, reports_dir=work / "reports")
    return time.perf_counter() - start


class _StepTimes:
    def __init__(self) -> None:
        import keras

        class Timer(keras.callbacks.Callback):
            def __init__(self, outer) -> None:
                super().__init__()
                self.outer = outer

            def on_train_batch_end(self, batch, logs=None) -> None:
                self.outer.times.append(time.perf_counter())
                if len(self.outer.times) % 5 == 0:
                    seconds = time.perf_counter() - self.outer.start
                    print(f"  step {len(self.outer.times)}: {seconds:.1f} s", flush=True)

        self.times: list[float] = []
        self.start = time.perf_counter()
        self.callback = Timer(self)


def streamed_training(shards: Path, work: Path, steps: int, workers: int) -> dict[str, float]:
    """A U-Net (Lite0 encoder, ImageNet weights) trained from the shards for ``steps`` batches."""
    from colorlib import workflow
    from colorlib.core.params import Params
    from colorlib.training import loop

    params = Params(
        run_name="gpu-streamed",
        data_dir=str(work / "data"),
        image_size=IMAGE_SIZE,
        batch_size=BATCH,
        epochs=1,
        encoder="efficientnet_lite0",
        encoder_weights="imagenet",
        decoder="unet",
        shards=str(shards),
        steps_per_epoch=steps,
        decode_workers=workers,
    )
    workflow.build_run_encoder(params)
    model = workflow.run_model(params)
    train, _ = workflow.training_datasets(params)
    trained = model.build(workflow.build_inputs(params, train))
    timer = _StepTimes()
    paths = workflow.run_paths(params)
    backup, _ = workflow.keys.training_steps(params)
    callbacks = loop.callbacks(model, paths.model_dir, backup, paths.colorizer, train, fresh=True)
    start = time.perf_counter()
    trained.fit(train, epochs=1, callbacks=[*callbacks, timer.callback], shuffle=False, verbose=2)
    total = time.perf_counter() - start
    late = timer.times[len(timer.times) // 2 :]
    per_step = (late[-1] - late[0]) / max(1, len(late) - 1)
    return {
        "steps": len(timer.times),
        "seconds": round(total, 2),
        "steps_per_s": round(1 / per_step, 3),
        "photos_per_s": round(BATCH / per_step, 1),
        "decode_workers": params.decode_workers,
        "photos_in_shards": train.count,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=Path, required=True, help="a shard folder (colorlib shard)")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    parser.add_argument(
        "--steps", type=int, default=STEPS, help=f"batches of the streamed run (default {STEPS})"
    )
    parser.add_argument(
        "--decode-workers",
        type=int,
        default=1,
        help="processes decoding the shards' JPEGs (default 1: on an H100, 1 fed 544 photos/s, while "
        "4 and 8 had not trained within their time limits; docs/gpu.md)",
    )
    parser.add_argument("--allow-cpu", action="store_true", help="run on JAX's CPU when there is no GPU")
    parser.add_argument("--skip-chain", action="store_true", help="only the streamed training")
    args = parser.parse_args()
    if os.environ.get("KERAS_BACKEND") != "jax":
        raise SystemExit("Run this with KERAS_BACKEND=jax (the machine has no TensorFlow).")
    results: dict = {"devices": devices(args.allow_cpu)}
    print(f"JAX devices: {results['devices']}", flush=True)

    def save() -> None:  # after each part, so that a run cut short still returns what it measured
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2) + "\n")

    failed = False
    with tempfile.TemporaryDirectory(prefix="colorlib-gpu-") as folder:
        work = Path(folder)
        if not args.skip_chain:
            try:
                results["chain_seconds"] = round(notebook_chain(work), 1)
                print(f"notebook chain on a JAX kernel: {results['chain_seconds']} s", flush=True)
            except Exception as error:  # reported, and the streamed run is still measured
                failed = True
                results["chain_error"] = f"{type(error).__name__}: {error}"
                traceback.print_exc()
            save()
        results["streamed"] = streamed_training(args.shards.resolve(), work, args.steps, args.decode_workers)
    streamed = results["streamed"]
    print(
        f"streamed U-Net (Lite0, {IMAGE_SIZE}×{IMAGE_SIZE}, batch {BATCH}): {streamed['steps_per_s']} "
        f"steps/s, {streamed['photos_per_s']} photos/s, {streamed['decode_workers']} decoding workers"
    )
    save()
    if failed:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
