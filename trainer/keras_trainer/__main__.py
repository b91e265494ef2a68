"""Entry point: `python -m keras_trainer --input DIR --output DIR` (PYTHONPATH=trainer outside the image).

One run, as trainer/main.ts: validate inputs, seed, load model and dataset, check shapes, train with JSON-lines
progress on stdout, then write the model, metrics.json and logs.txt (or only error.json). The model goes out in
the form it came in: a `.keras` in → model/model.keras; a TF.js model.json in → model/model.json + weights.bin
(tfjs_model.py), as the TF.js trainer would write it. The exit code is 0, 1 (bad input) or 2 (internal / OOM).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from datetime import datetime, timezone

# Chosen before Keras is imported: JAX is the backend both the image and a GPU machine here carry.
os.environ.setdefault("KERAS_BACKEND", "jax")

from .errors import TrainerError, to_trainer_error  # noqa: E402
from .outputs import OutputStaging  # noqa: E402

BATCH_LINE_INTERVAL_S = 0.5


def finite(v):
    """NaN/Infinity are not JSON: written as null, as JSON.stringify does in the TF.js trainer."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [finite(x) for x in v]
    return v


def emit(line: dict) -> None:
    sys.stdout.write(json.dumps(finite(line), allow_nan=False) + "\n")
    sys.stdout.flush()


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for pkg in ("keras", "jax", "jaxlib", "numpy", "h5py"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def memory_budget() -> int:
    """AIBOMGEN_TRAINER_MAX_MEMORY_MB, as the TF.js trainer reads it; 16 GiB by default."""
    try:
        mb = float(os.environ.get("AIBOMGEN_TRAINER_MAX_MEMORY_MB", ""))
    except ValueError:
        mb = 0
    return int(mb * 1024 * 1024) if math.isfinite(mb) and mb > 0 else 16 * 1024**3


def run(input_dir: str, output_dir: str, choice: str = "requested") -> int:
    staging = OutputStaging(output_dir)
    log_lines: list[str] = []

    def log(s: str) -> None:
        line = f"{datetime.now(timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')} {s}"
        log_lines.append(line)
        sys.stderr.write(line + "\n")

    def on_signal(signum, _frame):
        rec = TrainerError("internal", f"terminated by {signal.Signals(signum).name}").record()
        emit(rec)
        staging.fail(rec)
        os._exit(143 if signum == signal.SIGTERM else 130)

    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, on_signal)
    try:
        staging.open()
        from .contract import read_definition, read_params
        from .inputs import locate_dataset, locate_model

        definition = read_definition(input_dir)
        params = read_params(input_dir)
        model_path = locate_model(input_dir)
        data_src = locate_dataset(input_dir)

        import jax
        import keras

        from .datasets import load_dataset
        from .inputs import load_keras_model
        from .train import check_memory, check_shapes, compile_model, numbers, train

        keras.utils.set_random_seed(params.seed)
        backend = f"keras-{keras.backend.backend()}-{jax.default_backend()}"
        log(f"backend {backend} ({', '.join(str(d) for d in jax.devices())}); seed {params.seed}")
        if choice == "auto":
            log("trainer: keras, chosen automatically for a TF.js-framework job (AIBOMGEN_TRAINER_AUTO=keras)")
        tfjs = None
        if os.path.basename(model_path) == "model.json":
            from .tfjs_model import load_tfjs_model

            tfjs = load_tfjs_model(model_path)
            model = tfjs.model
        else:
            model = load_keras_model(model_path)
        n_params = int(model.count_params())
        fmt = "tfjs" if tfjs else "keras"
        log(f"model {fmt}: {len(model.layers)} layers, {n_params} parameters")
        out_size = definition.output_shape[0]
        check_shapes(model, definition.input_shape, out_size)
        ds = load_dataset(data_src, definition)
        log(f"dataset {ds.kind}: {ds.n} samples, input {list(ds.x.shape[1:])}, output [{out_size}]")
        check_memory(n_params, ds, memory_budget())
        compile_model(model, params, out_size)
        emit(
            {
                "type": "start",
                "backend": backend,
                "seed": params.seed,
                "epochs": params.epochs,
                "samples": ds.n,
                "params": n_params,
            }
        )
        last = [0.0]

        def on_batch(epoch: int, batch: int, logs) -> None:
            now = time.perf_counter()
            if now - last[0] < BATCH_LINE_INTERVAL_S:
                return
            last[0] = now
            emit({"type": "batch", "epoch": epoch + 1, "batch": batch, "logs": numbers(logs)})

        def on_epoch(epoch: int, logs) -> None:
            emit({"type": "epoch", "epoch": epoch, "logs": logs})
            log(f"epoch {epoch}: " + " ".join(f"{k}={v:.4f}" for k, v in logs.items()))

        # Standing in for the TF.js trainer, its metric names too (tfjs-layers logs accuracy as `acc`).
        names = {"accuracy": "acc", "val_accuracy": "val_acc"} if choice == "auto" else None
        result = train(model, ds, params, on_batch, on_epoch, log, names)
        sps = result.samples_seen / result.seconds if result.seconds > 0 else 0.0
        model_dir = os.path.join(staging.dir, "model")
        os.makedirs(model_dir)
        by = f"aibomgen keras_trainer (Keras {keras.__version__} on {keras.backend.backend()})"
        if tfjs:
            from .tfjs_model import save_tfjs_model

            own = (tfjs.training_config or {}).get("metrics")
            save_tfjs_model(tfjs, model_dir, by, params.metrics or own or ["accuracy"])
        else:
            model.save(os.path.join(model_dir, "model.keras"))
            if choice == "auto":
                # Standing in for the TF.js trainer, which writes a TF.js model.json + weights.bin for a .keras too.
                from .tfjs_model import from_keras, save_tfjs_model

                save_tfjs_model(from_keras(model), model_dir, by, params.metrics or ["accuracy"])
        metrics = {
            "history": result.history,
            "final": result.final,
            "samples_per_second": sps,
            "train_seconds": result.seconds,
            "backend": backend,
            "seed": params.seed,
            "versions": versions(),
            "dataset": {
                "kind": ds.kind,
                "samples": ds.n,
                "train_samples": result.train_samples,
                "validation_samples": result.validation_samples,
            },
            "model": {"format": fmt, "param_count": n_params, "layers": len(model.layers)},
            "trainer": {"framework": "keras", "choice": choice},
            "params": params.as_dict(),
        }
        with open(os.path.join(staging.dir, "metrics.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(finite(metrics), indent=2, allow_nan=False) + "\n")
        log(f"done: {len(result.history)} epochs in {result.seconds:.2f} s, {sps:.0f} samples/s")
        with open(os.path.join(staging.dir, "logs.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(log_lines) + "\n")
        staging.commit()
        emit({"type": "done", "epochs": len(result.history), "final": result.final, "samples_per_second": sps})
        return 0
    except Exception as err:  # every failure becomes the one error record (error.json + a progress line)
        e = to_trainer_error(err)
        if e.code == "internal":
            import traceback

            traceback.print_exc()
        emit(e.record())
        try:
            staging.fail(e.record())
        except OSError as write_err:
            sys.stderr.write(f"could not write error.json: {write_err}\n")
        return e.exit_code


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="keras_trainer", description="Trains a .keras model (the platform's contract).")
    ap.add_argument("--input", required=True, help="input directory (model/, dataset, definition, params.json)")
    ap.add_argument("--output", required=True, help="output directory (model/, metrics.json, logs.txt)")
    ap.add_argument(
        "--trainer-choice",
        choices=("requested", "auto"),
        default="requested",
        help="auto: the platform picked this trainer for a TF.js-framework job (recorded in logs and metrics.json)",
    )
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        if e.code in (0, None):  # --help
            return 0
        # argparse has printed the usage; the progress stream still gets its one error line, as in trainer/main.ts.
        emit({"type": "error", "code": "bad_params", "message": "bad command line (see usage)"})
        return 1
    return run(args.input, args.output, args.trainer_choice)


if __name__ == "__main__":
    sys.exit(main())
