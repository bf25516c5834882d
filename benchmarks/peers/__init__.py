"""cnnlab beside other software: PyPI fer on the same faces; cnnlab's .h5 files under Keras on TensorFlow or JAX."""
