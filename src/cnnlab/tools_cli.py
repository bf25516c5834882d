"""`cnnlab visualize` and `cnnlab export`: look inside a trained model, or write it out for other runtimes.

Every handler imports torch, matplotlib, onnx or h5py inside itself, so `cnnlab --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

Formatter = argparse.ArgumentDefaultsHelpFormatter


def register(sub) -> None:
    v = sub.add_parser("visualize", formatter_class=Formatter,
                       help="first-layer filters, feature maps, Grad-CAM and saliency of a CNN for one image")
    v.add_argument("run", metavar="RUN_DIR|MODEL", help="run folder, checkpoint file or shipped model name")
    v.add_argument("--image", required=True, help="image file (converted to the model's channels and size)")
    v.add_argument("--out", required=True, help="folder to write filters.png, featuremaps_<layer>.png, "
                                                "gradcam.png and prediction.json into")
    v.add_argument("--layers", nargs="+", metavar="NAME",
                   help="layers whose feature maps to draw, named as in model.named_modules() (e.g. features.0); "
                        "default: the output of each conv stage")
    v.add_argument("--target", metavar="CLASS", help="class whose score Grad-CAM and saliency explain; "
                                                     "default: the predicted class")
    v.add_argument("--max-maps", type=int, default=32, help="most active channels drawn per layer")
    v.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"], help="auto = cuda when available")
    v.set_defaults(func=run_visualize)

    e = sub.add_parser("export", formatter_class=Formatter,
                       help="write a model as ONNX (checked with ONNX Runtime) or HDF5 (weights, classes, shape)")
    e.add_argument("run", metavar="RUN_DIR|MODEL", help="run folder, checkpoint file or shipped model name")
    e.add_argument("--format", default="onnx", choices=["onnx", "h5"], help="file format")
    e.add_argument("--out", help="file to write; default: RUN_DIR/model.<format> for a run folder, "
                                 "<checkpoint>.<format> for a checkpoint file, ./<name>.<format> for a shipped model")
    e.add_argument("--opset", type=int, default=17, help="ONNX opset version")
    e.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest allowed difference between torch's and ONNX Runtime's probabilities")
    e.set_defaults(func=run_export)


def run_visualize(args) -> int:
    from cnnlab.engine.distributed import pick_device
    from cnnlab.errors import UsageError
    from cnnlab.runs import load_model
    from cnnlab.visualize import visualize
    if args.max_maps <= 0:
        raise UsageError(f"--max-maps must be positive, got {args.max_maps}")
    device = pick_device(args.device)
    model, ckpt = load_model(args.run, device)
    result = visualize(model, ckpt, Path(args.image), Path(args.out), args.layers, args.target, args.max_maps,
                       device, name=args.run)
    print(json.dumps({k: result[k] for k in ("image", "class", "gradcam", "layers")}))
    print(f"wrote {', '.join(result['files'])} in {args.out}")
    return 0


def run_export(args) -> int:
    from cnnlab import export
    from cnnlab.runs import load_model
    model, ckpt = load_model(args.run, "cpu")
    out = Path(args.out) if args.out else export.default_out(args.run, args.format)
    if args.format == "onnx":
        result = export.export_onnx(model, ckpt, out, args.opset, args.tolerance)
    else:
        result = export.export_h5(model, ckpt, out)
    print(json.dumps(result))
    return 0
