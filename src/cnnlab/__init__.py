"""cnnlab: convolutional-network experiments, one command each."""

__version__ = "0.1.0"
