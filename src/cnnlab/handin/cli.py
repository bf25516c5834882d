"""`cnnlab handin`: build the folder a student submits (see cnnlab/handin/build.py). Heavy imports happen inside
the handler, so `cnnlab --help` stays fast."""

from __future__ import annotations

import argparse

Formatter = argparse.ArgumentDefaultsHelpFormatter


def run_handin(args) -> int:
    from cnnlab.handin import budget
    from cnnlab.handin.build import build
    name = args.budget
    if name == "auto":
        import torch
        name = "gpu" if torch.cuda.is_available() else "cpu"
    budget.settings(name)
    datasets = {"emnist": args.emnist, "fer2013": args.fer2013, "cifar10": args.cifar10}
    page = build(args.out, name, args.data, args.video, args.teacher_weights, args.notebooks, args.timeout, args.quiet,
                 datasets)
    print(f"hand-in: {page}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("handin", formatter_class=Formatter,
                       help="build the folder to submit: theory answers, executed notebooks (HTML and .ipynb), "
                            "the best models as .h5, the webcam video, one index page",
                       description="Build the hand-in folder: the theory answers (Markdown and HTML, English and "
                                   "Persian), the three notebooks executed (.ipynb with outputs and self-contained "
                                   "HTML), the best model of each practical question as .h5 with the command that "
                                   "loads it, the webcam video (or how to record it) and index.html linking "
                                   "everything with the machine, versions and budget. Finished steps and training "
                                   "runs are reused: the same command continues an interrupted build.")
    p.add_argument("--out", required=True, help="hand-in folder to write (or to continue)")
    p.add_argument("--budget", default="auto", choices=["auto", "quick", "cpu", "gpu"],
                   help="quick: minutes on a CPU (a smoke run, for tests); cpu: a 2-core CPU (12 minutes on an "
                        "AVX-512 one); gpu: the full-size experiments; auto: gpu when CUDA is available, else cpu")
    p.add_argument("--data", metavar="DIR",
                   help="folder of the datasets: each is looked for in its usual folder names (emnist: "
                        "emnist-byclass-reduced/ or emnist/; fer2013: fer2013/ or fer/; cifar10: cifar10/ or "
                        "cifar-10/), then in DIR itself, in any layout 'cnnlab train DATASET --data' reads (e.g. "
                        "torchvision's DIR/EMNIST/raw/ and DIR/cifar-10-batches-py/); default: ../shared/data next "
                        "to the repository")
    for name, what in (("emnist", "EMNIST byclass"), ("fer2013", "FER-2013"), ("cifar10", "CIFAR-10")):
        p.add_argument(f"--{name}", metavar="DIR",
                       help=f"the {what} folder itself, as 'cnnlab train {name} --data DIR' takes it "
                            "(wins over --data)")
    p.add_argument("--video",
                   help="a webcam video recorded with 'cnnlab live --camera 0 --out video.mp4 --duration 60': "
                        "copied into the hand-in and analysed in notebook 2, part (c)")
    p.add_argument("--teacher-weights", metavar="imagenet|none|FILE",
                   help="weights of the P3 teacher's backbone (default: the budget's: imagenet for cpu and gpu, "
                        "downloaded once by torchvision; a local ResNet state-dict file works offline)")
    p.add_argument("--notebooks", help="folder of the notebooks (default: notebooks/ of this checkout)")
    p.add_argument("--timeout", type=int, default=7200, help="seconds one notebook cell may run")
    p.add_argument("--quiet", action="store_true", help="no progress bars (the step lines are still printed)")
    p.set_defaults(func=run_handin)
