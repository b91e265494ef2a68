"""Keras side of bench/trainer: samples/s of a plain Keras `model.fit` (the baseline: Keras 3 on JAX, CPU, the
same venv as the trainer) and of the platform's Keras trainer (`python -m keras_trainer`, a subprocess, through
its whole input/output contract) on the bench's MLP (13→64→32→1, batch 32) and CNN (Conv16-Pool-Conv32-Pool-
Dense64-Dense10 on 28×28×1, batch 64). Prints one JSON line.

    .tools/venv-keras/bin/python bench/trainer/keras_bench.py [--seconds 6] [--smoke]

Also "auto": the Keras trainer given the same model as a TF.js model.json + weights.bin with `--trainer-choice
auto` — what a default TF.js-framework job runs when the Keras image is built (server/jobs/runners/trainer-choice.ts).

Both skip their first epoch (JIT compilation) and time whole epochs after it. The trainer's epochs are timed
as its JSON progress lines arrive (an epoch line is written when the epoch ends). The best of --repeat runs counts.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")  # scripts/gpu-check.sh sets cuda for its GPU runs
import keras  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = {"mlp": dict(n=16384, batch=32), "cnn": dict(n=1024, batch=64)}


def build(kind: str) -> keras.Model:
    if kind == "mlp":
        m = keras.Sequential(
            [
                keras.Input((13,)),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(32, activation="relu"),
                keras.layers.Dense(1),
            ]
        )
        m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mean_squared_error")
    else:
        m = keras.Sequential(
            [
                keras.Input((28, 28, 1)),
                keras.layers.Conv2D(16, 3, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Conv2D(32, 3, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        m.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"])
    return m


def data(kind: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    if kind == "mlp":
        return rng.normal(size=(n, 13)).astype(np.float32), rng.normal(size=(n, 1)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    x = np.round(rng.uniform(size=(n, 28, 28, 1)) * 255).astype(np.float32) / 255  # what the PNGs hold
    return x, np.eye(10, dtype=np.float32)[labels]


class _EpochClock(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.ends: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        self.ends.append(time.perf_counter())


def plain_rate(kind: str, x: np.ndarray, y: np.ndarray, batch: int, epochs: int) -> float:
    """The baseline: one `fit` over `epochs` epochs; samples/s over epochs 2..last (epoch 1 compiles)."""
    clock = _EpochClock()
    build(kind).fit(x, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0, callbacks=[clock])
    return len(x) * (len(clock.ends) - 1) / (clock.ends[-1] - clock.ends[0])


def write_input(kind: str, d: str, x: np.ndarray, y: np.ndarray, epochs: int, batch: int) -> None:
    """A trainer input dir: the same model as a .keras, the data as CSV / an image zip, params.json."""
    os.makedirs(os.path.join(d, "model"))
    build(kind).save(os.path.join(d, "model", "bench.keras"))
    params = {"epochs": epochs, "batch_size": batch, "validation_split": 0, "seed": 42}
    if kind == "mlp":
        cols = [f"f{i}" for i in range(13)]
        np.savetxt(
            os.path.join(d, "dataset.csv"),
            np.hstack([x, y]),
            delimiter=",",
            fmt="%.6f",
            header=",".join([*cols, "label"]),
            comments="",
        )
        definition = {
            "columns": {**{c: "float" for c in cols}, "label": "float"},
            "input_shape": [13],
            "output_shape": [1],
            "label": "label",
        }
        params["loss"] = "mse"
    else:
        from PIL import Image

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for i, (img, lab) in enumerate(zip(x, y.argmax(1))):
                png = io.BytesIO()
                Image.fromarray((img[..., 0] * 255).round().astype(np.uint8), "L").save(png, "PNG")
                z.writestr(f"{lab}/{i}.png", png.getvalue())
        with open(os.path.join(d, "dataset.zip"), "wb") as f:
            f.write(buf.getvalue())
        definition = {
            "input_shape": [28, 28, 1],
            "output_shape": [10],
            "color_mode": "grayscale",
            "class_names": [str(i) for i in range(10)],
            "preprocessing": {"scale": 1 / 255},
        }
    with open(os.path.join(d, "dataset_definition.yaml"), "w") as f:
        json.dump(definition, f)  # JSON is YAML
    with open(os.path.join(d, "params.json"), "w") as f:
        json.dump(params, f)


METRICS_FIELDS = {
    "history",
    "final",
    "samples_per_second",
    "train_seconds",
    "backend",
    "seed",
    "versions",
    "dataset",
    "model",
    "params",
}


def check_contract(out: str, kind: str) -> str:
    """The trainer's output contract: model/model.keras that Keras loads, metrics.json with every field, logs.txt."""
    names = sorted(os.listdir(out))
    if names != ["logs.txt", "metrics.json", "model"] or os.listdir(os.path.join(out, "model")) != ["model.keras"]:
        raise RuntimeError(f"output contract: unexpected files {names}")
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    missing = METRICS_FIELDS - set(m)
    if missing or m["model"]["format"] != "keras" or m["dataset"]["kind"] != ("csv" if kind == "mlp" else "images"):
        raise RuntimeError(f"output contract: metrics.json lacks {sorted(missing)} or has the wrong kinds")
    model = keras.saving.load_model(os.path.join(out, "model", "model.keras"))
    if model.count_params() != m["model"]["param_count"]:
        raise RuntimeError("output contract: the saved model's parameter count differs from metrics.json")
    return (
        f"{kind}: model.keras loads ({model.count_params()} parameters), metrics.json complete, backend {m['backend']}"
    )


def write_auto_input(kind: str, d: str, auto_d: str) -> None:
    """`d` with its model as TF.js files (written by the trainer's own TF.js writer, tfjs_model.py)."""
    sys.path.insert(0, os.path.join(ROOT, "trainer"))
    from keras_trainer.tfjs_model import from_keras, save_tfjs_model

    shutil.copytree(d, auto_d, ignore=shutil.ignore_patterns("out", "bench.keras"))
    save_tfjs_model(from_keras(build(kind)), os.path.join(auto_d, "model"), "keras_bench", ["accuracy"])


def trainer_rate(d: str, n: int, extra: tuple[str, ...] = ()) -> tuple[float, str]:
    """Runs the Keras trainer module on `d`; samples/s over its epochs 2..last, timed as epoch lines arrive."""
    out = os.path.join(d, "out")
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "trainer")}
    p = subprocess.Popen(
        [sys.executable, "-m", "keras_trainer", "--input", d, "--output", out, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ends: list[float] = []
    backend = "?"
    for line in p.stdout:
        msg = json.loads(line)
        if msg["type"] == "epoch":
            ends.append(time.perf_counter())
        elif msg["type"] == "start":
            backend = msg["backend"]
        elif msg["type"] == "error":
            raise RuntimeError(f"keras trainer: {msg['code']}: {msg['message']}")
    err = p.stderr.read()
    if p.wait() != 0 or len(ends) < 2:
        raise RuntimeError(f"keras trainer exited {p.returncode}: {err[-2000:]}")
    return n * (len(ends) - 1) / (ends[-1] - ends[0]), backend


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--no-plain", action="store_true", help="only the Keras trainer (scripts/gpu-check.sh --smoke)")
    ap.add_argument("--check-contract", action="store_true", help="check each trainer run's outputs")
    # Best of N, plain and trainer interleaved: the build machines are shared, and another process's burst
    # otherwise lands on one side of the ratio only.
    ap.add_argument("--repeat", type=int, default=2, help="runs of each (the best counts; --smoke: 1)")
    a = ap.parse_args()
    keras.utils.set_random_seed(42)
    rng = np.random.default_rng(42)
    import jax

    result: dict = {
        "plain": {},
        "trainer": {},
        "auto": {},
        "versions": {
            "keras": keras.__version__,
            "jax": jax.__version__,
            "backend": keras.backend.backend(),
            "device": str(jax.devices()[0]),
        },
    }
    with tempfile.TemporaryDirectory(prefix="aibomgen-keras-bench-") as tmp:
        for kind, spec in MODELS.items():
            n = 256 if a.smoke else spec["n"]
            x, y = data(kind, n, rng)
            epochs = 3
            if not a.smoke:  # a calibrating run sizes the epochs so the timed part lasts about --seconds
                epochs = max(3, round(plain_rate(kind, x, y, spec["batch"], 3) * a.seconds / n) + 1)
            d = os.path.join(tmp, kind)
            write_input(kind, d, x, y, epochs, spec["batch"])
            auto_d = os.path.join(tmp, f"{kind}-auto")
            write_auto_input(kind, d, auto_d)
            for _ in range(1 if a.smoke else max(1, a.repeat)):
                if not a.no_plain:
                    best = max(result["plain"].get(kind, 0), plain_rate(kind, x, y, spec["batch"], epochs))
                    result["plain"][kind] = best
                rate, result["versions"]["trainer_backend"] = trainer_rate(d, n)
                result["trainer"][kind] = max(result["trainer"].get(kind, 0), rate)
                rate, _ = trainer_rate(auto_d, n, ("--trainer-choice", "auto"))
                result["auto"][kind] = max(result["auto"].get(kind, 0), rate)
            if a.check_contract:
                result.setdefault("contract", []).append(check_contract(os.path.join(d, "out"), kind))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
