"""Datasets, loaded as trainer/datasets/*.ts loads them (same column order, labels, image conversion and
preprocessing), into float32 numpy arrays: x of shape [n, *input_shape], y of shape [n, output_size]."""

from __future__ import annotations

import csv
import os

import numpy as np

from .contract import Definition
from .data_common import Dataset, check_size, targets
from .errors import TrainerError
from .images import image_feature, load_image_zip
from .tfrecord import decode_example, read_records

__all__ = ["Dataset", "load_dataset", "preprocess"]


def _cell(raw: str, typ: str, row: int, col: str) -> float:
    s = raw.strip()
    if typ == "bool":
        if s.lower() in ("true", "1"):
            return 1.0
        if s.lower() in ("false", "0"):
            return 0.0
    elif s:
        try:
            v = float(s)
            if np.isfinite(v) and (typ != "int" or v.is_integer()):
                return v
        except ValueError:
            pass
    raise TrainerError(
        "non_numeric", f"dataset.csv row {row}, column '{col}': '{raw}' is not a valid {typ}", f"columns.{col}"
    )


def _feature_columns(d: Definition, kind: str) -> list[str]:
    if not d.columns:
        raise TrainerError(
            "bad_definition", f"dataset_definition.yaml: columns: required for a {kind} dataset", "columns"
        )
    if d.label not in d.columns:
        raise TrainerError(
            "bad_definition", f"dataset_definition.yaml: label: '{d.label}' is not one of columns", "label"
        )
    return [c for c in d.columns if c != d.label]


def load_csv(path: str, d: Definition) -> Dataset:
    features = _feature_columns(d, "CSV")
    img = next((c for c, t in d.columns.items() if t == "image"), None)
    if img:
        raise TrainerError(
            "bad_definition",
            f"dataset_definition.yaml: columns.{img}: image columns need a TFRecord dataset",
            f"columns.{img}",
        )
    width = int(np.prod(d.input_shape))
    if len(features) != width:
        raise TrainerError(
            "shape_mismatch",
            f"input_shape {d.input_shape} holds {width} values but the definition has {len(features)} feature columns",
            "input_shape",
        )
    check_size(path)
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.reader(f)
        header = [h.strip() for h in next(rows, [])]
        if not header:
            raise TrainerError("empty_dataset", "dataset.csv is empty (no header row)", "dataset")
        for c in [*features, d.label]:
            if c not in header:
                raise TrainerError(
                    "missing_column", f"dataset.csv has no column '{c}' (named in the definition)", f"columns.{c}"
                )
        features.sort(key=header.index)  # the CSV's own column order, as pandas (and the TF.js trainer) reads it
        idx = [header.index(c) for c in features]
        li = header.index(d.label)
        xs: list[list[float]] = []
        labels: list[float] = []
        for rowno, cells in enumerate(rows, start=2):
            if not cells or all(not c.strip() for c in cells):
                continue
            get = lambda i: cells[i] if i < len(cells) else ""  # noqa: E731
            xs.append([_cell(get(i), d.columns[c], rowno, c) for i, c in zip(idx, features)])
            labels.append(_cell(get(li), d.columns[d.label], rowno, d.label))
    if not labels:
        raise TrainerError("empty_dataset", "dataset.csv has a header but no data rows", "dataset")
    x = np.asarray(xs, dtype=np.float32).reshape(len(labels), *d.input_shape)
    return Dataset("csv", x, targets(labels, d.output_shape[0], lambda i: f"dataset.csv row {i + 2}"))


def load_tfrecords(paths: list[str], d: Definition) -> Dataset:
    features = _feature_columns(d, "TFRecord")
    width = int(np.prod(d.input_shape))
    rows: list[np.ndarray] = []
    labels: list[float] = []
    for path in paths:
        check_size(path)
        name = os.path.basename(path)
        with open(path, "rb") as f:
            buf = f.read()
        for rec, data in enumerate(read_records(buf, name)):
            where = f"{name} record {rec}"
            ex = decode_example(data, where)
            parts: list[np.ndarray] = []
            for col in [*features, d.label]:
                if col not in ex:
                    raise TrainerError(
                        "missing_column", f"{where} has no feature '{col}' (named in the definition)", f"columns.{col}"
                    )
                kind, values = ex[col]
                if d.columns[col] == "image" and col != d.label:
                    if kind != "bytes" or len(values) != 1:
                        raise TrainerError(
                            "non_numeric",
                            f"{where}, feature '{col}': expected one bytes value (an image)",
                            f"columns.{col}",
                        )
                    parts.append(image_feature(values[0], d, f"{where}, feature '{col}'"))
                elif kind == "bytes":
                    raise TrainerError(
                        "non_numeric",
                        f"{where}, feature '{col}': bytes_list, expected a float or int64 list",
                        f"columns.{col}",
                    )
                elif col == d.label:
                    if len(values) != 1:
                        raise TrainerError(
                            "shape_mismatch", f"{where}: label '{col}' has {len(values)} values, expected 1", "label"
                        )
                    labels.append(float(values[0]))
                else:
                    parts.append(np.asarray(values, dtype=np.float32))
            row = np.concatenate(parts) if parts else np.zeros(0, np.float32)
            if row.size != width:
                raise TrainerError(
                    "shape_mismatch",
                    f"{where} has {row.size} feature values but input_shape {d.input_shape} needs {width}",
                    "input_shape",
                )
            rows.append(row)
    if not labels:
        raise TrainerError("empty_dataset", "the TFRecord dataset holds no records", "dataset")
    x = np.stack(rows).reshape(len(labels), *d.input_shape)
    return Dataset("tfrecord", x, targets(labels, d.output_shape[0], lambda i: f"TFRecord record {i}"))


def preprocess(ds: Dataset, d: Definition) -> None:
    """normalize (per-feature min-max over the dataset), clip, scale: the seed's order."""
    x = ds.x.reshape(ds.n, -1)
    if d.normalize and ds.n:
        lo, hi = x.min(axis=0), x.max(axis=0)
        span = hi - lo
        x[:] = np.where(span > 0, (x - lo) / np.where(span > 0, span, 1), 0)
    if d.clip:
        np.clip(x, d.clip[0], d.clip[1], out=x)
    if d.scale != 1:
        x *= d.scale


def load_dataset(src: tuple[str, list[str]], d: Definition) -> Dataset:
    kind, files = src
    ds = (
        load_csv(files[0], d)
        if kind == "csv"
        else load_image_zip(files[0], d)
        if kind == "images"
        else load_tfrecords(files, d)
    )
    preprocess(ds, d)
    return ds
