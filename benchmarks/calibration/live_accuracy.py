"""How well `cnnlab live` does on faces it has never seen: share of faces found, and share of found faces whose
expression is right, end to end through the real command.

300 FER-2013 test faces (PublicTest, taken in turn from each class), one per 640×480 frame, each at a seeded
random place and size (96-240 px) on a noisy background (`cnnlab.live.scene.still`), are written as a video; then
`cnnlab live MODEL --video V --log L` runs with its defaults (and the options given) and its log is compared
with the truth: a face is found when a box's centre lies in the pasted face, and right when its label is the
face's class.

    PYTHONPATH=src python -m benchmarks.calibration.live_accuracy [--model fer2013-vgg] [--frames 300] \
        [--faces test|val] [--name NAME] [-- LIVE OPTIONS]

Writes benchmarks/results/live_accuracy_cpu[_NAME].json. `--faces val` takes validation faces instead (10% of
train, never trained on; other seeds): the split to compare live options on, so that PublicTest is only reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from benchmarks.common import FER, write
from benchmarks.faces import score, stills

from cnnlab.cli import main as cnnlab
from cnnlab.live import scene


def main():
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="fer2013-vgg", help="shipped model name or run folder")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--faces", choices=["test", "val"], default="test",
                    help="PublicTest faces (the report) or validation faces (to compare options on)")
    ap.add_argument("--name", default="", help="suffix of the result file")
    ap.add_argument("--data", default=str(FER))
    args = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    frames, labels = stills(args.data, args.frames, args.faces)
    with tempfile.TemporaryDirectory() as tmp:
        video, log = Path(tmp) / "faces.avi", Path(tmp) / "log.jsonl"
        scene.write_video(video, (frame for frame, _ in frames), fps=30)
        code = cnnlab(["live", args.model, "--video", str(video), "--no-window", "--log", str(log), *extra])
        if code:
            sys.exit(code)
        result = score(log, [(box, label) for (_, box), label in zip(frames, labels)])
        summary = [json.loads(line) for line in log.read_text().splitlines()][-1]["summary"]
    result.update(model=args.model, faces=args.faces, options=" ".join(extra) or "defaults",
                  detector=summary.get("detector"), tta=summary.get("tta"), fps_this_run=summary.get("fps"))
    write("live_accuracy_cpu" + (f"_{args.name}" if args.name else ""), result,
          note=f"FER-2013 {'PublicTest' if args.faces == 'test' else 'validation'} faces, one per 640x480 frame "
               "(MJPG video), 96-240 px at random places on a noisy background; fps_this_run is a speed check "
               "on a shared CPU, see live_fps for speed")


if __name__ == "__main__":
    main()
