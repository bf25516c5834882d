"""cnnlab models as Keras 3 models in HDF5 (`cnnlab export MODEL --format h5`), and those files read back.

- `layers`: which PyTorch layers carry weights, their Keras layer names, and the weight layouts of both (numpy
  only: reading a file back needs h5py, not keras).
- `build`: the Keras model, layer for layer, from a cnnlab PyTorch model (imports keras).
- `h5`: write the .h5 (Keras' own `model.save`, plus the `class_names` and `cnnlab` attributes) and read one
  back into the PyTorch model.

The file's contract is in docs/model-files.md.
"""
