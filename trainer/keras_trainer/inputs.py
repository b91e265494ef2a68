"""Finds the model (a `.keras` file, else a TF.js model.json) and dataset in the input directory
(trainer/inputs/locate.ts), and loads the `.keras` model."""

from __future__ import annotations

import os
import zipfile

from .errors import TrainerError

MAX_MODEL_BYTES = int(os.environ.get("AIBOMGEN_TRAINER_MAX_MODEL_BYTES", 2 * 1024**3))


def locate_model(input_dir: str) -> str:
    d = os.path.join(input_dir, "model")
    if not os.path.isdir(d):
        raise TrainerError("missing_input", "model/ is missing from the input", "model")
    names = sorted(os.listdir(d))
    keras_files = [n for n in names if n.endswith(".keras")]
    if len(keras_files) > 1:
        raise TrainerError("bad_model", f"model/ holds {len(keras_files)} .keras files; expected one", "model")
    if keras_files:
        return os.path.join(d, keras_files[0])
    if "model.json" in names:  # a TF.js layers model (tfjs_model.py)
        return os.path.join(d, "model.json")
    raise TrainerError("missing_input", "model/ holds neither a .keras file nor model.json", "model")


def locate_dataset(input_dir: str) -> tuple[str, list[str]]:
    at = lambda n: os.path.join(input_dir, n)  # noqa: E731
    if os.path.exists(at("dataset.csv")):
        return "csv", [at("dataset.csv")]
    if os.path.exists(at("dataset.zip")):
        return "images", [at("dataset.zip")]
    if os.path.exists(at("dataset.tfrecord")):
        return "tfrecord", [at("dataset.tfrecord")]
    if os.path.isdir(at("dataset")):
        files = sorted(n for n in os.listdir(at("dataset")) if n.endswith(".tfrecord"))
        if files:
            return "tfrecord", [os.path.join(at("dataset"), n) for n in files]
    raise TrainerError(
        "missing_input",
        "no dataset in the input: expected dataset.csv, dataset.zip, dataset.tfrecord or dataset/*.tfrecord",
        "dataset",
    )


def load_keras_model(path: str):
    """Keras' own loader with safe_mode (no Lambda/pickled code); anything it cannot build is a bad_model."""
    import keras

    size = os.path.getsize(path)
    if size > MAX_MODEL_BYTES:
        raise TrainerError(
            "bad_model",
            f"{os.path.basename(path)}: {size} bytes is over the model limit of "
            f"{MAX_MODEL_BYTES} (AIBOMGEN_TRAINER_MAX_MODEL_BYTES)",
            "model",
        )
    if not zipfile.is_zipfile(path):
        raise TrainerError("bad_model", f"{os.path.basename(path)} is not a Keras 3 .keras archive (a zip)", "model")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as e:  # Keras raises TypeError/ValueError/KeyError alike for a model it cannot rebuild
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        code = "unsupported_layer" if "Could not locate class" in msg or "Unknown layer" in msg else "bad_model"
        raise TrainerError(code, f"{os.path.basename(path)} could not be loaded by Keras: {msg}", "model") from None
