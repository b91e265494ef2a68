"""Compile and the training loop, as trainer/train.ts and trainer/keras/compile.ts do it: one seeded shuffle
before the validation tail is split off, then `fit` (validation_freq, steps_per_epoch and validation_steps mean
what they mean there), progress through callbacks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

from .contract import Params
from .datasets import Dataset
from .errors import TrainerError

# name → (class, default learning rate): the TF.js trainer's list and defaults.
OPTIMIZERS = {
    "adam": (keras.optimizers.Adam, 0.001),
    "sgd": (keras.optimizers.SGD, 0.01),
    "rmsprop": (keras.optimizers.RMSprop, 0.001),
    "adagrad": (keras.optimizers.Adagrad, 0.01),
    "adamax": (keras.optimizers.Adamax, 0.002),
}
LOSSES = {
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "mean_squared_error",
    "mean_absolute_error",
    "hinge",
    "huber",
}
_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error", "huber_loss": "huber"}


def _snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return _ALIASES.get(out, out)


def _dense(name: str) -> str:
    """Targets are one-hot, so sparse losses become their dense twins (as in the TF.js trainer)."""
    return "categorical_crossentropy" if name == "sparse_categorical_crossentropy" else name


def compile_model(model: keras.Model, p: Params, output_size: int) -> None:
    """Keeps the model's own compile config unless params override it (or its loss is sparse)."""
    own = model.loss if isinstance(getattr(model, "loss", None), str) else None
    sparse = own is not None and "sparse" in own
    if (
        getattr(model, "optimizer", None) is not None  # absent on a model never compiled
        and own is not None
        and not sparse
        and not (p.optimizer or p.loss or p.metrics or p.learning_rate)
    ):
        return
    opt_name = (p.optimizer or "adam").lower()
    if opt_name not in OPTIMIZERS:
        raise TrainerError(
            "bad_params", f"optimizer: '{p.optimizer}' is not one of {', '.join(OPTIMIZERS)}", "optimizer"
        )
    loss = _snake(p.loss or own or ("binary_crossentropy" if output_size == 1 else "categorical_crossentropy"))
    if loss not in LOSSES:
        raise TrainerError("bad_params", f"loss: '{p.loss or own}' is not one of {', '.join(sorted(LOSSES))}", "loss")
    metrics = [
        "accuracy" if m in ("acc", "sparse_categorical_accuracy") else _snake(m) for m in (p.metrics or ["accuracy"])
    ]
    cls, default_lr = OPTIMIZERS[opt_name]
    optimizer = cls(learning_rate=p.learning_rate or default_lr)
    try:
        model.compile(optimizer=optimizer, loss=_dense(loss), metrics=metrics)
    except ValueError as e:
        raise TrainerError("bad_params", f"metrics: {e}", "metrics") from None


def check_shapes(model: keras.Model, input_shape: list[int], output_size: int) -> None:
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise TrainerError(
            "shape_mismatch",
            f"model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; expected 1 and 1",
            "model",
        )
    fits = lambda have, want: len(have) == len(want) and all(h is None or h == w for h, w in zip(have, want))  # noqa
    have_in = list(model.inputs[0].shape[1:])
    have_out = list(model.outputs[0].shape[1:])
    if not fits(have_in, input_shape):
        raise TrainerError(
            "shape_mismatch",
            f"model input shape {have_in} does not match the definition's input_shape {input_shape}",
            "input_shape",
        )
    if not fits(have_out, [output_size]):
        raise TrainerError(
            "shape_mismatch",
            f"model output shape {have_out} does not match the definition's output_shape [{output_size}]",
            "output_shape",
        )


def check_memory(param_count: int, ds: Dataset, budget: int) -> None:
    estimate = 2 * (ds.x.nbytes + ds.y.nbytes) + param_count * 4 * 4
    if estimate > budget:
        mib = lambda b: f"{math.ceil(b / 1024 / 1024)} MiB"  # noqa: E731
        raise TrainerError(
            "out_of_memory",
            f"out of memory: this run needs about {mib(estimate)} (dataset + "
            f"{param_count} parameters with optimizer state), the budget is {mib(budget)}",
        )


Logs = dict[str, float]


def numbers(logs: dict | None) -> Logs:
    out: Logs = {}
    for k, v in (logs or {}).items():
        try:
            out[k] = float(v)
        except (TypeError, ValueError):
            continue
    return out


@dataclass
class TrainResult:
    history: list[dict]
    final: Logs
    train_samples: int
    validation_samples: int
    samples_seen: int
    seconds: float


class _Progress(keras.callbacks.Callback):
    """Batch and epoch hooks; epochs are reported 1-based, as the TF.js trainer reports them."""

    def __init__(
        self,
        on_batch: Callable[[int, int, dict], None],
        on_epoch: Callable[[int, Logs], None],
        names: dict[str, str],
    ) -> None:
        super().__init__()
        self.on_batch = on_batch
        self.on_epoch = on_epoch
        self.names = names
        self.epoch = 0

    def _renamed(self, logs):
        return {self.names.get(k, k): v for k, v in (logs or {}).items()} if self.names else logs

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch(self.epoch, batch, self._renamed(logs))  # the hook converts (a device sync) only when it emits

    def on_epoch_end(self, epoch, logs=None):
        self.on_epoch(epoch + 1, numbers(self._renamed(logs)))


def train(
    model: keras.Model,
    ds: Dataset,
    p: Params,
    on_batch: Callable[[int, int, dict], None],
    on_epoch: Callable[[int, Logs], None],
    log: Callable[[str], None],
    names: dict[str, str] | None = None,
) -> TrainResult:
    """`names` renames metrics in progress and history (e.g. to the TF.js trainer's `acc`, `val_acc`)."""
    rng = np.random.default_rng(p.seed)
    order = rng.permutation(ds.n)
    n_val = int(math.floor(ds.n * p.validation_split))
    n_train = ds.n - n_val
    if n_train < 1:
        raise TrainerError(
            "empty_dataset",
            f"no training samples left after validation_split {p.validation_split} of {ds.n}",
            "validation_split",
        )
    if p.validation_split > 0 and n_val < 1:
        raise TrainerError(
            "empty_dataset",
            f"validation_split {p.validation_split} of {ds.n} samples leaves no validation samples",
            "validation_split",
        )
    x_train, y_train = ds.x[order[:n_train]], ds.y[order[:n_train]]
    val_count = min(n_val, p.validation_steps * p.batch_size) if p.validation_steps else n_val
    val = (ds.x[order[n_train : n_train + val_count]], ds.y[order[n_train : n_train + val_count]]) if n_val else None
    log(
        f"train {n_train} samples, validate {val_count} of {n_val}, batch {p.batch_size}, "
        f"epochs {p.initial_epoch}..{p.epochs}"
    )
    history: list[dict] = []
    seen = 0

    def epoch_done(epoch: int, logs: Logs) -> None:
        if any(not math.isfinite(v) for v in logs.values()):
            log(f"warning: non-finite metric at epoch {epoch}")
        history.append({"epoch": epoch, "logs": logs})
        on_epoch(epoch, logs)

    started = time.perf_counter()
    if not p.steps_per_epoch:
        # One fit for all epochs, as a plain Keras script runs it: Keras' validation_freq means what the TF.js
        # trainer's does (validate after epoch index e when (e + 1) % freq == 0).
        model.fit(
            x_train,
            y_train,
            batch_size=p.batch_size,
            epochs=p.epochs,
            initial_epoch=p.initial_epoch,
            shuffle=True,
            verbose=0,
            validation_data=val,
            validation_freq=p.validation_freq,
            callbacks=[_Progress(on_batch, epoch_done, names or {})],
        )
        seen = n_train * len(history)
    step_order, cursor = rng.permutation(n_train), 0
    for epoch in range(p.initial_epoch, p.epochs) if p.steps_per_epoch else ():
        # Step-wise: steps × batch samples per epoch, cycling through a reshuffled order (one fit per epoch).
        idx = np.empty(p.steps_per_epoch * p.batch_size, dtype=np.int64)
        for i in range(idx.size):
            if cursor >= n_train:
                step_order, cursor = rng.permutation(n_train), 0
            idx[i] = step_order[cursor]
            cursor += 1
        validate = val is not None and (epoch + 1) % p.validation_freq == 0
        model.fit(
            x_train[idx],
            y_train[idx],
            batch_size=p.batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=True,
            verbose=0,
            validation_data=val if validate else None,
            callbacks=[_Progress(on_batch, epoch_done, names or {})],
        )
        seen += idx.size
    seconds = time.perf_counter() - started
    final: Logs = {}
    for h in history:
        final.update(h["logs"])
    return TrainResult(history, final, n_train, val_count, seen, seconds)
