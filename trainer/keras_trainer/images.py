"""Image datasets (a zip of PNG class folders or images + labels.csv) and image features of TFRecords, decoded
and converted as trainer/datasets/images.ts does: Pillow decodes, luma weights for grayscale, bilinear resize."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import numpy as np

from .contract import Definition
from .data_common import ZIP_MAX_BYTES, ZIP_MAX_ENTRIES, ZIP_MAX_RATIO, Dataset, check_size, targets
from .errors import TrainerError


def resize(img: np.ndarray, oh: int, ow: int) -> np.ndarray:
    """Bilinear, align-corners false (tf.image.resize; trainer/datasets/images.ts `resize`). img: [h, w, c]."""
    h, w, _ = img.shape
    if (h, w) == (oh, ow):
        return img
    sy = np.clip((np.arange(oh) + 0.5) * (h / oh) - 0.5, 0, h - 1)
    sx = np.clip((np.arange(ow) + 0.5) * (w / ow) - 0.5, 0, w - 1)
    y0, x0 = np.floor(sy).astype(int), np.floor(sx).astype(int)
    y1, x1 = np.minimum(h - 1, y0 + 1), np.minimum(w - 1, x0 + 1)
    fy, fx = (sy - y0)[:, None, None], (sx - x0)[None, :, None]
    top = img[y0][:, x0] * (1 - fx) + img[y0][:, x1] * fx
    bottom = img[y1][:, x0] * (1 - fx) + img[y1][:, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def decode_png(name: str, data: bytes, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError  # only image datasets need Pillow

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG":
                raise UnidentifiedImageError("not a PNG")
            rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise TrainerError("corrupt_archive", f"{name} is not a readable PNG: {e}", "dataset") from None
    if channels == 1:  # the TF.js trainer's luma weights, on 0..255 values
        return (0.299 * rgba[..., 0] + 0.587 * rgba[..., 1] + 0.114 * rgba[..., 2])[..., None]
    return rgba[..., :3]


def _unzip(path: str) -> dict[str, bytes]:
    """Reads every file entry into memory, refusing unsafe names and zip bombs (counted on inflated bytes)."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise TrainerError("corrupt_archive", "dataset.zip is not a zip archive", "dataset") from None
    out: dict[str, bytes] = {}
    total = 0
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > ZIP_MAX_ENTRIES:
            raise TrainerError(
                "unsafe_archive",
                f"dataset.zip has {len(infos)} entries, over the limit of {ZIP_MAX_ENTRIES}",
                "dataset",
            )
        for info in infos:
            n = info.filename
            if n.startswith("/") or "\\" in n or re.match(r"^[a-zA-Z]:", n) or ".." in n.split("/") or "\0" in n:
                raise TrainerError("unsafe_archive", f"dataset.zip entry '{n}' escapes the archive root", "dataset")
            try:
                with zf.open(info) as f:
                    data = f.read(ZIP_MAX_BYTES - total + 1)
            except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:
                raise TrainerError(
                    "corrupt_archive", f"dataset.zip entry '{n}' cannot be read: {e}", "dataset"
                ) from None
            total += len(data)
            if total > ZIP_MAX_BYTES:
                raise TrainerError(
                    "unsafe_archive", f"dataset.zip inflates to more than {ZIP_MAX_BYTES} bytes", "dataset"
                )
            if len(data) > 1024 * 1024 and len(data) > ZIP_MAX_RATIO * max(1, info.compress_size):
                raise TrainerError(
                    "unsafe_archive", f"dataset.zip entry '{n}' inflates more than {ZIP_MAX_RATIO}×", "dataset"
                )
            out[n] = data
    return out


def load_image_zip(path: str, d: Definition) -> Dataset:
    check_size(path)
    channels = (
        3 if d.color_mode == "rgb" else 1 if d.color_mode == "grayscale" else (3 if d.input_shape[2:] == [3] else 1)
    )
    if len(d.input_shape) != 3 or d.input_shape[2] != channels:
        raise TrainerError(
            "shape_mismatch",
            f"input_shape {d.input_shape} does not fit images of {channels} channel(s): "
            f"expected [height, width, {channels}]",
            "input_shape",
        )
    ih, iw = d.input_shape[0], d.input_shape[1]
    if d.image_size and tuple(d.image_size) != (ih, iw):
        raise TrainerError(
            "shape_mismatch",
            f"image_size {list(d.image_size)} does not match input_shape {d.input_shape}",
            "image_size",
        )
    entries = _unzip(path)
    hidden = lambda n: any(p.startswith(".") or p == "__MACOSX" for p in n.split("/"))  # noqa: E731
    pngs = sorted(n for n in entries if n.lower().endswith(".png") and not hidden(n))
    if not pngs:
        raise TrainerError("empty_dataset", "dataset.zip holds no PNG images", "dataset")
    labels_csv = next((n for n in entries if re.search(r"(^|/)labels\.csv$", n)), None)
    label_of: dict[str, str] = {}
    if labels_csv:
        prefix = labels_csv[: -len("labels.csv")]
        for row in list(csv.reader(io.StringIO(entries[labels_csv].decode("utf-8"))))[1:]:
            if len(row) >= 2 and row[0].strip():
                label_of[prefix + row[0].strip()] = row[1].strip()
    else:
        for n in pngs:
            parts = n.split("/")
            if len(parts) < 2:
                raise TrainerError(
                    "bad_definition",
                    f"dataset.zip image '{n}' is not inside a class folder and there is no labels.csv",
                    "dataset",
                )
            label_of[n] = parts[-2]
    raw = sorted({label_of[n] for n in pngs if n in label_of})
    digits = all(label.isdigit() for label in raw)
    class_names = d.class_names or (sorted(raw, key=int) if digits else raw)
    numeric = d.class_names is None and all(c.isdigit() for c in class_names)
    out = d.output_shape[0]
    if out == 1 and len(class_names) > 2:
        raise TrainerError(
            "shape_mismatch",
            f"dataset.zip has {len(class_names)} classes but output_shape [1] fits only two",
            "output_shape",
        )
    if not numeric and out != 1 and len(class_names) > out:
        raise TrainerError(
            "shape_mismatch", f"dataset.zip has {len(class_names)} classes but output_shape is [{out}]", "output_shape"
        )
    used = [n for n in pngs if n in label_of]
    x = np.empty((len(used), ih, iw, channels), dtype=np.float32)
    labels: list[float] = []
    for i, n in enumerate(used):
        x[i] = resize(decode_png(f"dataset.zip entry '{n}'", entries[n], channels), ih, iw)
        lab = label_of[n]
        if numeric:
            labels.append(float(lab))
        elif lab in class_names:
            labels.append(float(class_names.index(lab)))
        else:
            raise TrainerError(
                "bad_definition", f"dataset.zip image '{n}' has label '{lab}', not one of class_names", "class_names"
            )
    return Dataset("images", x, targets(labels, out, lambda i: f"dataset.zip image '{used[i]}'"))


_PNG_MAGIC = b"\x89PNG"


def image_feature(data: bytes, d: Definition, where: str) -> np.ndarray:
    if len(d.input_shape) != 3 or d.input_shape[2] not in (1, 3):
        raise TrainerError(
            "shape_mismatch",
            f"input_shape {d.input_shape} is not [height, width, 1|3] as an image column needs",
            "input_shape",
        )
    h, w, c = d.input_shape
    if data[:4] == _PNG_MAGIC:
        return resize(decode_png(where, data, c), h, w).reshape(-1)
    if len(data) == h * w * c:
        return np.frombuffer(data, dtype=np.uint8).astype(np.float32)
    raise TrainerError(
        "shape_mismatch",
        f"{where}: {len(data)} bytes is neither a PNG nor raw pixels of input_shape {d.input_shape}",
        "input_shape",
    )
