"""The notes' 3 -> 2 -> 3 autoencoder in Keras 3, on the data examples/autoencoder_iris.rs uses
(iris' first three measurements, min-max scaled on the whole set), uncentred and centred, with
SGD(learning_rate=1.5) and 20 epochs as the notes write it. It shows how often that learning
rate diverges in Keras itself.

Run: KERAS_BACKEND=tensorflow ~/.peers/bin/python scripts/keras_autoencoder_iris.py
"""

import numpy as np
import keras
from sklearn.datasets import load_iris


def autoencoder():
    encoder = keras.models.Sequential([keras.Input([3]), keras.layers.Dense(2)])
    decoder = keras.models.Sequential([keras.Input([2]), keras.layers.Dense(3)])
    model = keras.models.Sequential([encoder, decoder])
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=1.5))
    return model


X = load_iris().data[:, :3]
X = (X - X.min(0)) / (X.max(0) - X.min(0))
for name, data in [("uncentred", X), ("centred", X - X.mean(0))]:
    for seed in [1, 2, 3]:
        keras.utils.set_random_seed(seed)
        model = autoencoder()
        history = model.fit(data, data, epochs=20, verbose=0)
        print(f"{name} seed {seed}: final loss {history.history['loss'][-1]:.5g}")
