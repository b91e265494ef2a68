"""Writes small real Keras 3 `.keras` fixtures (run with .tools/venv-keras/bin/python).

usage: make_keras.py <out_dir>   → mlp.keras (13→64→32→1, sigmoid), cnn.keras (Rescaling, Conv2D, BatchNorm,
MaxPooling2D, AveragePooling2D, Dropout, Flatten, Dense; 28×28×1 → 10), unsupported.keras (has an LSTM).
"""
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "jax")  # keras 3.15 numpy backend imports jax anyway
import keras  # noqa: E402

keras.utils.set_random_seed(7)
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

mlp = keras.Sequential([
    keras.Input(shape=(13,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(1, activation="sigmoid"),
])
mlp.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
mlp.save(os.path.join(out, "mlp.keras"))

cnn = keras.Sequential([
    keras.Input(shape=(28, 28, 1)),
    keras.layers.Rescaling(1.0 / 255),
    keras.layers.Conv2D(8, 3, activation="relu"),
    keras.layers.BatchNormalization(momentum=0.8),  # fast-moving stats: few-epoch tests validate well
    keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(8, 3, padding="same"),
    keras.layers.Activation("relu"),
    keras.layers.AveragePooling2D(2),
    keras.layers.Flatten(),
    keras.layers.Dropout(0.1),
    keras.layers.Dense(10, activation="softmax"),
])
cnn.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
cnn.save(os.path.join(out, "cnn.keras"))

bad = keras.Sequential([keras.Input(shape=(4, 13)), keras.layers.LSTM(4), keras.layers.Dense(1)])
bad.save(os.path.join(out, "unsupported.keras"))
