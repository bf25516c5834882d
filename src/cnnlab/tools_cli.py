"""`cnnlab visualize` and `cnnlab export`: look inside a trained model, or write it out for other runtimes.

Every handler imports torch, matplotlib, onnx, h5py or keras inside itself, so `cnnlab --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cnnlab.clikit import Formatter, add_device, nonneg_int, positive_float, positive_int


def register(sub) -> None:
    v = sub.add_parser("visualize", formatter_class=Formatter,
                       help="first-layer filters, feature maps, Grad-CAM and saliency of a CNN for one image")
    v.add_argument("run", metavar="MODEL", help="run folder, shipped model name, or a .pt or .h5 file written by "
                                                "cnnlab (not .onnx: Grad-CAM and saliency need PyTorch's gradients)")
    v.add_argument("--image", required=True, help="image file (converted to the model's channels and size)")
    v.add_argument("--out", required=True, help="folder to write filters.png, featuremaps_<layer>.png, "
                                                "gradcam.png and prediction.json into")
    v.add_argument("--layers", nargs="+", metavar="NAME",
                   help="layers whose feature maps to draw, named as in model.named_modules() (e.g. features.0); "
                        "default: the output of each conv stage")
    v.add_argument("--target", metavar="CLASS", help="class whose score Grad-CAM and saliency explain; "
                                                     "default: the predicted class")
    v.add_argument("--max-maps", type=positive_int, default=32, help="most active channels drawn per layer")
    v.add_argument("--face", type=nonneg_int, default=0,
                   help="a face model (FER-2013) given a photo larger than twice its input looks at this face of the "
                        "ones 'cnnlab live --image' finds in it, numbered from 0, left to right")
    v.add_argument("--whole-image", action="store_true",
                   help="a face model looks at the whole image as one face, without finding faces in it")
    add_device(v)
    v.set_defaults(func=run_visualize)

    e = sub.add_parser("export", formatter_class=Formatter,
                       help="write a model as ONNX (checked with ONNX Runtime) or as a Keras .h5 (checked with Keras)",
                       description="Write a model for other runtimes; every cnnlab command that takes a model takes "
                                   "the file back. onnx: ONNX Runtime, OpenCV, ... (checked against torch). h5: a "
                                   "Keras 3 model (keras.models.load_model, any backend; pixel values 0-255 in, "
                                   "probabilities out), checked against torch on --data's test images. "
                                   "docs/model-files.md describes both files.")
    e.add_argument("run", metavar="MODEL", help="run folder, shipped model name, or a .pt, .h5 or .onnx file written "
                                                "by cnnlab (an .onnx file only to --format onnx)")
    e.add_argument("--format", default="onnx", choices=["onnx", "h5"],
                   help="onnx, or h5 (a Keras model in HDF5)")
    e.add_argument("--out", help="file to write; default: RUN_DIR/model.<format> for a run folder, "
                                 "<checkpoint>.<format> for a checkpoint file, ./<name>.<format> for a shipped model")
    e.add_argument("--opset", type=positive_int, default=17, help="ONNX opset version")
    e.add_argument("--tolerance", type=positive_float, default=1e-4,
                   help="largest allowed difference between torch's and ONNX Runtime's (or Keras') probabilities")
    e.add_argument("--data", metavar="DIR", help="--format h5: the model's dataset folder; the Keras file is checked "
                                                 "on 32 of its test images (default: the EMNIST sample shipped with "
                                                 "cnnlab for an EMNIST model, random images for others)")
    e.add_argument("--cache-dir", help="cache folder for decoded tensors (default: $CNNLAB_CACHE_DIR or "
                                       "~/.cache/cnnlab)")
    e.set_defaults(func=run_export)


def run_visualize(args) -> int:
    from cnnlab.engine.distributed import pick_device
    from cnnlab.runs import load_model
    from cnnlab.visualize import visualize
    device = pick_device(args.device)
    model, ckpt = load_model(args.run, device, torch_only="Grad-CAM and saliency need a PyTorch model's gradients, "
                                                          "filters and feature maps its layers")
    result = visualize(model, ckpt, Path(args.image), Path(args.out), args.layers, args.target, args.max_maps,
                       device, name=args.run, whole_image=args.whole_image, face=args.face)
    if "face" in result:
        from cnnlab.photo import found_line
        print(f"{found_line(Path(args.image), result['face']['faces'])}; looking at face {args.face} "
              f"(box {result['face']['box']}; --face N picks another)", file=sys.stderr)
    print(json.dumps({k: result[k] for k in ("image", "face", "label", "gradcam", "layers") if k in result}))
    print(f"wrote {', '.join(result['files'])} in {args.out}")
    return 0


def run_export(args) -> int:
    from cnnlab import export
    from cnnlab.runs import load_model
    why = "the .h5 is built layer for layer from the PyTorch model, which an .onnx file does not keep"
    model, ckpt = load_model(args.run, "cpu", torch_only=why if args.format == "h5" else None)
    out = Path(args.out) if args.out else export.default_out(args.run, args.format)
    if args.format == "onnx":
        result = export.export_onnx(model, ckpt, out, args.opset, args.tolerance)
    else:
        from cnnlab.kerasfile.images import check_images
        images, source = check_images(ckpt, args.data, args.cache_dir)
        result = {**export.export_h5(model, ckpt, out, images, args.tolerance), "check_images": source}
    print(json.dumps(result))
    return 0
