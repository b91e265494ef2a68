"""The Keras trainer: `python -m keras_trainer --input DIR --output DIR`.

The same input and output contract as the TF.js trainer (trainer/main.ts, schema/trainer.ts): a `.keras` model,
`dataset_definition.yaml`, a CSV / image zip / TFRecord dataset and `params.json` in; `model/model.keras`,
`metrics.json` and `logs.txt` (or only `error.json`) out, with the same JSON-lines progress on stdout. Keras 3
runs on the JAX backend (the one a GPU machine here has), recorded in the outputs.
"""
