"""What every dataset loader shares: the in-memory dataset, the size caps and the target encoding."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .errors import TrainerError


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


# The same caps and variables as the TF.js trainer (safe-unzip.ts), plus one on the dataset file itself.
MAX_DATASET_BYTES = _env_int("AIBOMGEN_TRAINER_MAX_DATASET_BYTES", 2 * 1024**3)
ZIP_MAX_ENTRIES = _env_int("AIBOMGEN_TRAINER_ZIP_MAX_ENTRIES", 200_000)
ZIP_MAX_BYTES = _env_int("AIBOMGEN_TRAINER_ZIP_MAX_BYTES", 2 * 1024**3)
ZIP_MAX_RATIO = _env_int("AIBOMGEN_TRAINER_ZIP_MAX_RATIO", 200)


@dataclass
class Dataset:
    kind: str  # csv | images | tfrecord
    x: np.ndarray
    y: np.ndarray

    @property
    def n(self) -> int:
        return int(self.x.shape[0])


def check_size(path: str) -> None:
    size = os.path.getsize(path)
    if size > MAX_DATASET_BYTES:
        raise TrainerError(
            "out_of_memory",
            f"{os.path.basename(path)}: {size} bytes is over the dataset limit of "
            f"{MAX_DATASET_BYTES} (AIBOMGEN_TRAINER_MAX_DATASET_BYTES)",
            "dataset",
        )


def targets(labels: list[float], output_size: int, where) -> np.ndarray:
    """The label itself for output size 1, else one-hot of a class index (trainer/datasets/labels.ts)."""
    y = np.zeros((len(labels), output_size), dtype=np.float32)
    for i, v in enumerate(labels):
        if output_size == 1:
            y[i, 0] = v
        elif float(v).is_integer() and 0 <= v < output_size:
            y[i, int(v)] = 1
        else:
            raise TrainerError(
                "shape_mismatch",
                f"{where(i)}: label {v:g} is not a class index in [0, {output_size}) (output_shape is [{output_size}])",
                "output_shape",
            )
    return y
