"""TF.js layers models (`model.json` + weight shards) in and out of Keras 3, for the automatic choice of the Keras
trainer on TF.js-framework jobs (server/jobs/runners/trainer-choice.ts decides; this module does the work).

In: the `modelTopology` tfjs-layers writes is a Keras-2-style config (class_name/config, snake_case keys), so
Keras' own deserialiser (keras.models.model_from_json, which resolves built-in class names without `module`
entries) builds it. What had to be adapted first (Keras 3 dropped it): `batch_input_shape` on a layer, which
becomes an explicit InputLayer (`batch_shape`) in front of a Sequential, or `batch_shape` on a functional
InputLayer. Only the layer classes in SUPPORTED_LAYERS (same semantics and weight layout in both libraries) are
accepted; the server checks the same list before choosing this trainer, so a refusal here is never a surprise.
The weights are assigned by their manifest names (`<layer>/<variable>`, layer.set_weights), shapes and sizes checked.

Out: model.json with the submitted topology, a training config tfjs reads (loss, metrics, optimizer) and one
manifest over `weights.bin`, the file names trainer/outputs/tfjs.ts writes. Optimizer slots are not carried.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass

import numpy as np

from .errors import TrainerError
from .inputs import MAX_MODEL_BYTES

# The layer classes whose tfjs-layers and Keras 3 implementations compute the same function from the same
# weights in the same order (kernel HWIO / [in, out] in both). Keep in step with TFJS_KERAS_LAYERS in
# server/jobs/runners/trainer-choice.ts (test/trainer/keras-tfjs-model.test.ts compares the two lists).
SUPPORTED_LAYERS = frozenset(
    {
        "InputLayer",
        "Dense",
        "Conv2D",
        "MaxPooling2D",
        "AveragePooling2D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
        "Flatten",
        "Reshape",
        "Dropout",
        "BatchNormalization",
        "Activation",
        "ReLU",
        "Softmax",
        "Rescaling",
    }
)
CONTAINERS = frozenset({"Sequential", "Model", "Functional"})
MAX_MODEL_JSON_BYTES = 32 * 1024 * 1024
MAX_LAYERS = 256


@dataclass
class TfjsModel:
    """A loaded TF.js model and what is needed to write it back in the same form."""

    model: object  # keras.Model
    topology: dict
    # `<layer>/<variable>` per layer with weights, in Keras order: the names tfjs maps the output weights by.
    weight_names: dict[str, list[str]]
    training_config: dict | None


def _bad(msg: str) -> TrainerError:
    return TrainerError("bad_model", f"model/model.json: {msg}", "model")


def _layers_of(node: dict) -> list:
    cfg = node.get("config")
    layers = cfg if isinstance(cfg, list) else cfg.get("layers") if isinstance(cfg, dict) else None
    if not isinstance(layers, list):
        raise _bad(f"{node.get('class_name')} has no layers")
    return layers


def unsupported_layer(topology: object) -> str | None:
    """The first layer class outside SUPPORTED_LAYERS (as `Class (name)`), or None when all are supported."""
    count = 0

    def visit(node: object) -> str | None:
        nonlocal count
        if not isinstance(node, dict) or not isinstance(node.get("class_name"), str):
            raise _bad("a layer without class_name")
        cls = node["class_name"]
        if cls in CONTAINERS:
            for child in _layers_of(node):
                found = visit(child)
                if found:
                    return found
            return None
        count += 1
        if count > MAX_LAYERS:
            raise _bad(f"more than {MAX_LAYERS} layers")
        if cls not in SUPPORTED_LAYERS:
            name = node.get("config", {}).get("name") if isinstance(node.get("config"), dict) else None
            return f"{cls} ({name})" if name else cls
        return None

    return visit(topology)


def _to_keras3(topology: dict) -> dict:
    """The tfjs (Keras 2 style) topology with Keras 3's input convention (see the module docstring)."""
    t = copy.deepcopy(topology)
    if t.get("class_name") == "Sequential":
        layers = _layers_of(t)
        first = layers[0].get("config", {}) if layers else {}
        if layers and layers[0].get("class_name") != "InputLayer" and "batch_input_shape" in first:
            shape = first.pop("batch_input_shape")
            dtype = first.get("dtype", "float32")
            layers.insert(0, {"class_name": "InputLayer", "config": {"batch_shape": shape, "dtype": dtype}})
        for layer in layers:
            cfg = layer.get("config", {})
            if layer.get("class_name") == "InputLayer" and "batch_input_shape" in cfg:
                cfg["batch_shape"] = cfg.pop("batch_input_shape")
            cfg.pop("batch_input_shape", None)  # only the first layer's counts, as in tfjs
        if isinstance(t["config"], list):  # very old Keras wrote a Sequential's config as the bare layer list
            t["config"] = {"layers": layers}
    else:
        for layer in _layers_of(t):
            cfg = layer.get("config", {})
            if layer.get("class_name") == "InputLayer" and "batch_input_shape" in cfg:
                cfg["batch_shape"] = cfg.pop("batch_input_shape")
    return t


def _safe_path(model_dir: str, p: object) -> str:
    if not isinstance(p, str) or not p or os.path.isabs(p) or ".." in p.replace("\\", "/").split("/"):
        raise _bad(f"weight path {p!r} leaves model/")
    full = os.path.realpath(os.path.join(model_dir, p))
    if not full.startswith(os.path.realpath(model_dir) + os.sep):
        raise _bad(f"weight path {p!r} leaves model/")
    if not os.path.isfile(full):
        raise _bad(f"names weight file {p!r}, which is missing")
    return full


def _read_weights(model_dir: str, manifest: object) -> list[tuple[str, np.ndarray]]:
    """(name, float32 array) of every model weight, in manifest order; optimizer-group entries are skipped."""
    if manifest is None:
        return []
    if not isinstance(manifest, list):
        raise _bad("weightsManifest is not a list")
    out: list[tuple[str, np.ndarray]] = []
    for gi, group in enumerate(manifest):
        if not isinstance(group, dict) or not isinstance(group.get("paths"), list):
            raise _bad(f"weightsManifest[{gi}] has no paths")
        files = [_safe_path(model_dir, p) for p in group["paths"]]
        total = sum(os.path.getsize(f) for f in files)
        if total > MAX_MODEL_BYTES:
            raise _bad(f"weight shards of {total} bytes are over the model limit of {MAX_MODEL_BYTES}")
        data = b"".join(open(f, "rb").read() for f in files)  # noqa: SIM115
        offset = 0
        for w in group.get("weights", []):
            name, shape, dtype = w.get("name"), w.get("shape"), w.get("dtype", "float32")
            if not isinstance(name, str) or not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
                raise _bad(f"weightsManifest[{gi}]: a weight entry without name or shape: {json.dumps(w)[:200]}")
            if "quantization" in w:
                raise TrainerError("bad_model", f"model/model.json: weight {name} is quantised: not supported", "model")
            item = {"float32": 4, "int32": 4}.get(dtype)
            if item is None or (dtype != "float32" and w.get("group") != "optimizer"):
                raise TrainerError(
                    "bad_model", f"model/model.json: weight {name} has dtype {dtype}; expected float32", "model"
                )
            size = int(np.prod(shape, dtype=np.int64)) * item
            if offset + size > len(data):
                raise _bad(f"weight {name} {shape} runs past the end of its shards ({len(data)} bytes)")
            if w.get("group") != "optimizer":
                out.append((name, np.frombuffer(data, "<f4", size // 4, offset).reshape(shape).copy()))
            offset += size
        if offset != len(data):
            raise _bad(f"weightsManifest[{gi}]: the manifest names {offset} bytes, its shards hold {len(data)}")
    return out


def _compile_from(model, training_config: dict) -> None:
    """The model's own tfjs training config, compiled in Keras (train.compile_model keeps it unless overridden)."""
    import keras

    from .train import _dense, _snake

    opt = training_config.get("optimizer_config") or {}
    name = str(opt.get("class_name", "")).lower()
    cfg = opt.get("config") or {}
    lr = cfg.get("learningRate", cfg.get("learning_rate"))
    make = {
        "adam": lambda: keras.optimizers.Adam(lr or 0.001, cfg.get("beta1", 0.9), cfg.get("beta2", 0.999),
                                              cfg.get("epsilon", 1e-7)),
        "sgd": lambda: keras.optimizers.SGD(lr or 0.01),
        "rmsprop": lambda: keras.optimizers.RMSprop(lr or 0.001, cfg.get("decay", 0.9), cfg.get("momentum", 0.0),
                                                    cfg.get("epsilon", 1e-7), cfg.get("centered", False)),
        "adagrad": lambda: keras.optimizers.Adagrad(lr or 0.01, cfg.get("initialAccumulatorValue", 0.1)),
        "adamax": lambda: keras.optimizers.Adamax(lr or 0.002, cfg.get("beta1", 0.9), cfg.get("beta2", 0.999),
                                                  cfg.get("epsilon", 1e-7)),
    }.get(name)
    loss = training_config.get("loss")
    if make is None or not isinstance(loss, str):
        return  # not one the trainer knows: train.compile_model compiles from params and defaults instead
    metrics = ["accuracy" if m in ("acc", "accuracy") else _snake(m) for m in training_config.get("metrics") or []]
    try:
        model.compile(optimizer=make(), loss=_dense(_snake(loss)), metrics=metrics or None)
    except ValueError:
        return  # a loss or metric Keras does not know by that name: compiled from params and defaults instead
    model.loss = _snake(loss)  # what compile_model reads as "the model's own loss"


def load_tfjs_model(model_json: str) -> TfjsModel:
    import keras

    if os.path.getsize(model_json) > MAX_MODEL_JSON_BYTES:
        raise _bad(f"larger than {MAX_MODEL_JSON_BYTES} bytes")
    try:
        with open(model_json, encoding="utf-8") as f:
            doc = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _bad(f"not valid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("modelTopology"), dict):
        raise _bad("no modelTopology (expected a TF.js Layers model)")
    topology = doc["modelTopology"]
    config = topology.get("model_config", topology)  # tfjs-converter output nests it
    bad = unsupported_layer(config)
    if bad:
        raise TrainerError(
            "unsupported_layer",
            f"layer {bad} has no exact Keras equivalent here; supported: {', '.join(sorted(SUPPORTED_LAYERS))}",
            "model",
        )
    try:
        # Layers resolve by class name among Keras' built-ins; the containers need naming (no `module` entries).
        containers = {"Sequential": keras.Sequential, "Model": keras.Model, "Functional": keras.Model}
        model = keras.models.model_from_json(json.dumps(_to_keras3(config)), custom_objects=containers)
    except Exception as e:  # Keras raises TypeError/ValueError/KeyError alike for a config it cannot build
        raise _bad(f"Keras could not build the topology: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    weights = _read_weights(os.path.dirname(model_json), doc.get("weightsManifest"))
    # By name, `<layer>/<variable>`: tfjs lists all trainable weights before the non-trainable ones (a
    # BatchNormalization's moving statistics come last), so the manifest is not in layer order.
    by_name = dict(weights)
    if len(by_name) != len(weights):
        raise _bad("the manifest names a weight twice")
    names: dict[str, list[str]] = {}
    for layer in model.layers:
        if not layer.weights:
            continue
        want = [f"{layer.name}/{v.name}" for v in layer.weights]
        names[layer.name] = want
        if not weights:
            continue  # a topology without weights: Keras' seeded initialisers, as tfjs' are in the TF.js trainer
        missing = [n for n in want if n not in by_name]
        if missing:
            raise _bad(f"the manifest has no weight {missing[0]} (layer {layer.name})")
        for n, v in zip(want, layer.weights):
            if tuple(by_name[n].shape) != tuple(v.shape):
                raise TrainerError(
                    "shape_mismatch",
                    f"weight {n} has shape {list(by_name[n].shape)}; the layer needs {list(v.shape)}",
                    "model",
                )
        layer.set_weights([by_name.pop(n) for n in want])
    if by_name:
        raise _bad(f"{len(by_name)} manifest weight(s) belong to no layer (first: {next(iter(by_name))})")
    training = doc.get("trainingConfig") if isinstance(doc.get("trainingConfig"), dict) else None
    if training:
        _compile_from(model, training)
    return TfjsModel(model, topology, names, training)


# Keras optimizer class → (tfjs class_name, config written the way tfjs' fromConfig reads it).
def _tfjs_optimizer(opt) -> dict:
    lr = float(keras_value(opt.learning_rate))
    cls = type(opt).__name__
    if cls == "Adam":
        return {"class_name": "Adam", "config": {"learningRate": lr, "beta1": opt.beta_1, "beta2": opt.beta_2,
                                                 "epsilon": opt.epsilon}}
    if cls == "Adamax":
        return {"class_name": "Adamax", "config": {"learningRate": lr, "beta1": opt.beta_1, "beta2": opt.beta_2,
                                                   "epsilon": opt.epsilon, "decay": 0}}
    if cls == "RMSprop":
        return {"class_name": "RMSProp", "config": {"learningRate": lr, "decay": opt.rho, "momentum": opt.momentum,
                                                    "epsilon": opt.epsilon, "centered": opt.centered}}
    if cls == "Adagrad":
        return {"class_name": "Adagrad",
                "config": {"learningRate": lr, "initialAccumulatorValue": opt.initial_accumulator_value}}
    return {"class_name": "SGD", "config": {"learningRate": lr}}


def keras_value(v) -> float:
    return float(np.asarray(v.value if hasattr(v, "value") else v))


# Keras-3-only keys tfjs does not know (as trainer/keras/config.ts drops them for the TF.js trainer).
_KERAS3_ONLY = frozenset(
    {
        "module", "registered_name", "build_config", "compile_config", "shared_object_id", "optional", "ragged",
        "synchronized", "renorm", "renorm_clipping", "renorm_momentum", "groups", "input_axes", "output_axes",
        "lora_rank", "lora_alpha", "quantization_config",
    }
)


def _tfjs_config(v):
    """A Keras 3 config → the tfjs form: plain {class_name, config}, dtype strings, `batch_input_shape`."""
    if isinstance(v, list):
        return [_tfjs_config(x) for x in v]
    if not isinstance(v, dict):
        return v
    if isinstance(v.get("class_name"), str) and v["class_name"].endswith("DTypePolicy"):
        return str((v.get("config") or {}).get("name", "float32")).removeprefix("mixed_")
    return {("batch_input_shape" if k == "batch_shape" else k): _tfjs_config(x) for k, x in v.items()
            if k not in _KERAS3_ONLY}


def from_keras(model) -> TfjsModel:
    """A `.keras` model in TF.js terms, for writing it out as the TF.js trainer does for `.keras` inputs."""
    import keras

    cfg = keras.saving.serialize_keras_object(model)
    bad = unsupported_layer(cfg)
    if cfg.get("class_name") != "Sequential" or bad:
        raise TrainerError("unsupported_layer", f"the .keras model has no TF.js form ({bad or cfg.get('class_name')})",
                           "model")
    topology = {"class_name": "Sequential", "config": _tfjs_config(cfg["config"]), "keras_version": "tfjs-layers",
                "backend": "tensor_flow.js"}
    names = {layer.name: [f"{layer.name}/{v.name}" for v in layer.weights] for layer in model.layers if layer.weights}
    return TfjsModel(model, topology, names, None)


def save_tfjs_model(src: TfjsModel, out_dir: str, generated_by: str, metrics: list[str]) -> None:
    """model.json (submitted topology, tfjs training config, one manifest) + weights.bin, as outputs/tfjs.ts."""
    model = src.model
    os.makedirs(out_dir, exist_ok=True)
    entries: list[dict] = []
    with open(os.path.join(out_dir, "weights.bin"), "wb") as f:
        for layer in model.layers:
            for name, w in zip(src.weight_names.get(layer.name, []), layer.get_weights()):
                arr = np.ascontiguousarray(w, dtype="<f4")
                f.write(arr.tobytes())
                entries.append({"name": name, "shape": list(arr.shape), "dtype": "float32"})
    doc: dict = {
        "format": "layers-model",
        "generatedBy": generated_by,
        "convertedBy": None,
        "modelTopology": src.topology,
    }
    loss = getattr(model, "loss", None)
    if getattr(model, "optimizer", None) is not None and isinstance(loss, str):
        doc["trainingConfig"] = {"loss": loss, "metrics": metrics, "optimizer_config": _tfjs_optimizer(model.optimizer)}
    doc["weightsManifest"] = [{"paths": ["weights.bin"], "weights": entries}]
    with open(os.path.join(out_dir, "model.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f)
