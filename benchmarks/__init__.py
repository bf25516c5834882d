"""cnnlab's benchmarks, each a module run from the repository root with `PYTHONPATH=src python -m benchmarks.KIND.NAME`;
each writes benchmarks/results/NAME.json (common.write: the figures with the command and the machine), and
make_benchmarks_md.py writes BENCHMARKS.md from them.

    speed/        how fast: frames, images or seconds (the live loop, training steps, inference, start-up, the demo)
    calibration/  constants in src/cnnlab chosen from measurements (YuNet's width and score, the face crop, the
                  tracker's similarity, test-time augmentation, the live defaults end to end)
    ablation/     the FER-2013 recipe's parts compared one at a time (recipe changes, EMA, ensembles, distillation)
    peers/        cnnlab beside other software (PyPI fer; the .h5 files under Keras on TensorFlow or JAX)

At the top: common.py and faces.py (shared helpers), record.py (records a cnnlab command's results), gpu_suite.py
(the CUDA checks in one call) and make_benchmarks_md.py.
"""
