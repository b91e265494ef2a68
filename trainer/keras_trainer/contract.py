"""Reads and validates `dataset_definition.yaml` and `params.json`: the rules of schema/trainer.ts (zod there),
written out here because the trainer image carries no node. Every error names its field, as there."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field as dc_field

import yaml

from .errors import TrainerError

COLUMN_TYPES = ("float", "int", "bool", "image")
MAX_CONTRACT_FILE_BYTES = 1024 * 1024  # both files are small documents; the API caps the definition the same way


class _Invalid(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def _int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _pos_int_list(v: object, path: str, lo: int, hi: int) -> list[int]:
    if not isinstance(v, list) or not lo <= len(v) <= hi or not all(_int(d) and d > 0 for d in v):
        raise _Invalid(path, f"expected {lo}..{hi} positive integers")
    return list(v)


def _strict(doc: dict, allowed: set[str], prefix: str = "") -> None:
    extra = sorted(set(doc) - allowed)
    if extra:
        raise _Invalid(prefix.rstrip(".") or "(root)", f"unrecognized key(s): {', '.join(map(str, extra))}")


@dataclass
class Definition:
    input_shape: list[int]
    output_shape: list[int]
    columns: dict[str, str] | None = None
    label: str = "label"
    normalize: bool = False
    clip: tuple[float, float] | None = None
    scale: float = 1.0
    image_size: tuple[int, int] | None = None
    color_mode: str | None = None
    class_names: list[str] | None = None


def parse_definition(doc: object) -> Definition:
    if not isinstance(doc, dict):
        raise _Invalid("(root)", "expected a mapping")
    _strict(
        doc,
        {"columns", "input_shape", "output_shape", "label", "preprocessing", "image_size", "color_mode", "class_names"},
    )
    d = Definition(
        _pos_int_list(doc.get("input_shape"), "input_shape", 1, 4),
        _pos_int_list(doc.get("output_shape"), "output_shape", 1, 1),
    )
    cols = doc.get("columns")
    if cols is not None:
        if not isinstance(cols, dict):
            raise _Invalid("columns", "expected a mapping of column name to type")
        for k, t in cols.items():
            if not isinstance(k, str) or not k or t not in COLUMN_TYPES:
                raise _Invalid(f"columns.{k}", f"expected one of {', '.join(COLUMN_TYPES)}")
        d.columns = dict(cols)
    if "label" in doc:
        if not isinstance(doc["label"], str) or not doc["label"]:
            raise _Invalid("label", "expected a non-empty string")
        d.label = doc["label"]
    pre = doc.get("preprocessing", {})
    if not isinstance(pre, dict):
        raise _Invalid("preprocessing", "expected a mapping")
    _strict(pre, {"normalize", "clip", "scale"}, "preprocessing.")
    if not isinstance(pre.get("normalize", False), bool):
        raise _Invalid("preprocessing.normalize", "expected a boolean")
    d.normalize = pre.get("normalize", False)
    if "clip" in pre:
        c = pre["clip"]
        if not isinstance(c, list) or len(c) != 2 or not all(_num(x) for x in c) or c[0] > c[1]:
            raise _Invalid("preprocessing.clip", "expected [lo, hi] with lo <= hi")
        d.clip = (float(c[0]), float(c[1]))
    if not _num(pre.get("scale", 1)):
        raise _Invalid("preprocessing.scale", "expected a finite number")
    d.scale = float(pre.get("scale", 1))
    if "image_size" in doc:
        s = _pos_int_list(doc["image_size"], "image_size", 2, 2)
        d.image_size = (s[0], s[1])
    if "color_mode" in doc:
        if doc["color_mode"] not in ("grayscale", "rgb"):
            raise _Invalid("color_mode", "expected grayscale or rgb")
        d.color_mode = doc["color_mode"]
    if "class_names" in doc:
        cn = doc["class_names"]
        if not isinstance(cn, list) or not all(isinstance(x, str) and x for x in cn):
            raise _Invalid("class_names", "expected a list of non-empty strings")
        d.class_names = list(cn)
    return d


@dataclass
class Params:
    epochs: int = 50
    validation_split: float = 0.2
    initial_epoch: int = 0
    batch_size: int = 32
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    validation_freq: int = 1
    seed: int = 42
    optimizer: str | None = None
    learning_rate: float | None = None
    loss: str | None = None
    metrics: list[str] | None = None
    given: dict = dc_field(default_factory=dict)

    def as_dict(self) -> dict:
        """The effective params, as metrics.json records them (the TF.js trainer writes the parsed object)."""
        keys = (
            "epochs",
            "validation_split",
            "initial_epoch",
            "batch_size",
            "steps_per_epoch",
            "validation_steps",
            "validation_freq",
            "seed",
            "optimizer",
            "learning_rate",
            "loss",
            "metrics",
        )
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


_INT_PARAMS = {  # name: (min, max)
    "epochs": (1, 10_000),
    "initial_epoch": (0, None),
    "batch_size": (1, 65_536),
    "steps_per_epoch": (1, None),
    "validation_steps": (1, None),
    "validation_freq": (1, None),
    "seed": (0, 2**32 - 1),
}


def parse_params(doc: object) -> Params:
    if not isinstance(doc, dict):
        raise _Invalid("(root)", "expected a JSON object")
    _strict(doc, set(_INT_PARAMS) | {"validation_split", "optimizer", "learning_rate", "loss", "metrics"})
    p = Params(given=dict(doc))
    for k, (lo, hi) in _INT_PARAMS.items():
        if k in doc:
            v = doc[k]
            if not _int(v) or v < lo or (hi is not None and v > hi):
                raise _Invalid(k, f"expected an integer in [{lo}, {hi if hi is not None else '∞'}]")
            setattr(p, k, v)
    if "validation_split" in doc:
        v = doc["validation_split"]
        if not _num(v) or not 0 <= v < 1:
            raise _Invalid("validation_split", "expected a number in [0, 1)")
        p.validation_split = float(v)
    for k in ("optimizer", "loss"):
        if k in doc:
            if not isinstance(doc[k], str) or not doc[k]:
                raise _Invalid(k, "expected a non-empty string")
            setattr(p, k, doc[k])
    if "learning_rate" in doc:
        if not _num(doc["learning_rate"]) or doc["learning_rate"] <= 0:
            raise _Invalid("learning_rate", "expected a positive number")
        p.learning_rate = float(doc["learning_rate"])
    if "metrics" in doc:
        m = doc["metrics"]
        if not isinstance(m, list) or not all(isinstance(x, str) and x for x in m):
            raise _Invalid("metrics", "expected a list of non-empty strings")
        p.metrics = list(m)
    if p.initial_epoch >= p.epochs:
        raise _Invalid("initial_epoch", "must be less than epochs")
    return p


def _read_small(path: str, name: str, code: str) -> str:
    if os.path.getsize(path) > MAX_CONTRACT_FILE_BYTES:
        raise TrainerError(code, f"{name}: larger than {MAX_CONTRACT_FILE_BYTES} bytes")
    with open(path, encoding="utf-8") as f:
        return f.read()


def read_definition(input_dir: str) -> Definition:
    path = os.path.join(input_dir, "dataset_definition.yaml")
    if not os.path.exists(path):
        raise TrainerError("missing_input", "dataset_definition.yaml is missing from the input")
    try:
        doc = yaml.safe_load(_read_small(path, "dataset_definition.yaml", "bad_definition"))
    except yaml.YAMLError as e:
        raise TrainerError("bad_definition", f"dataset_definition.yaml: not valid YAML: {e}") from None
    try:
        return parse_definition(doc)
    except _Invalid as e:
        raise TrainerError(
            "bad_definition", f"dataset_definition.yaml: {e.path}: {e}", None if e.path == "(root)" else e.path
        ) from None


def read_params(input_dir: str) -> Params:
    path = os.path.join(input_dir, "params.json")
    doc: object = {}
    if os.path.exists(path):
        try:
            doc = json.loads(_read_small(path, "params.json", "bad_params"))
        except json.JSONDecodeError as e:
            raise TrainerError("bad_params", f"params.json: not valid JSON: {e}") from None
    try:
        return parse_params(doc)
    except _Invalid as e:
        raise TrainerError(
            "bad_params", f"params.json: {e.path}: {e}", None if e.path == "(root)" else e.path
        ) from None
