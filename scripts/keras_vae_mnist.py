"""The dense VAE of examples/vae_mnist.rs in Keras 3 (the model of the b8 benchmark): 784 -> 512
relu -> (z_mean, z_log_var) in 2-D -> sampling -> 512 relu -> 784 sigmoid, Adam(1e-3), batch 128,
loss = the reconstruction's binary cross-entropy summed over the pixels + KL, per sample (the
negative ELBO in nats). Prints the test loss after the given number of epochs, for the
comparison in the example's doc.

Run: KERAS_BACKEND=tensorflow ~/.peers/bin/python scripts/keras_vae_mnist.py [EPOCHS]
"""

import gzip
import sys
from pathlib import Path

import numpy as np
import keras
from keras import layers, ops

EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


def images(name):
    with gzip.open(DATA / name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype("float32") / 255.0


class Sampling(layers.Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.seed = keras.random.SeedGenerator(1)

    def call(self, inputs):
        mean, log_var = inputs
        kl = -0.5 * ops.sum(1 + log_var - ops.square(mean) - ops.exp(log_var), axis=1)
        self.add_loss(ops.mean(kl))
        eps = keras.random.normal(ops.shape(mean), seed=self.seed)
        return mean + ops.exp(0.5 * log_var) * eps


keras.utils.set_random_seed(1)
x = keras.Input([784])
h = layers.Dense(512, activation="relu")(x)
z_mean, z_log_var = layers.Dense(2)(h), layers.Dense(2)(h)
z = Sampling()([z_mean, z_log_var])
encoder = keras.Model(x, [z_mean, z_log_var, z], name="encoder")
decoder = keras.Sequential([keras.Input([2]), layers.Dense(512, activation="relu"),
                            layers.Dense(784, activation="sigmoid")], name="decoder")
inp = keras.Input([784])
vae = keras.Model(inp, decoder(encoder(inp)[2]), name="vae")
vae.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", loss_weights=[784.0])
x_train, x_test = images("train-images-idx3-ubyte.gz"), images("t10k-images-idx3-ubyte.gz")
vae.fit(x_train, x_train, epochs=EPOCHS, batch_size=128, verbose=2)
print(f"test loss (negative ELBO per sample) after {EPOCHS} epochs: {vae.evaluate(x_test, x_test, batch_size=1000, verbose=0):.2f}")
