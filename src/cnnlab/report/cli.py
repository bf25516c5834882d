"""`cnnlab report`, `cnnlab notebooks` and `cnnlab tensorboard`: what a student hands in and looks at.

Every handler imports what it needs inside itself, so `cnnlab --help` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cnnlab.clikit import Formatter, add_device, nonneg_int, port, positive_int


def run_report(args) -> int:
    from cnnlab.engine.distributed import pick_device
    from cnnlab.errors import UsageError
    from cnnlab.report.html import write_report
    if not args.out.lower().endswith((".html", ".htm")):
        raise UsageError(f"--out {args.out}: give an .html file name, e.g. --out report.html")
    out = write_report([Path(r) for r in args.runs], Path(args.out), title=args.title, data=args.data,
                       samples=args.samples, device=str(pick_device(args.device)), quiet=args.quiet)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0


def run_notebooks(args) -> int:
    from cnnlab.errors import RunError
    from cnnlab.report.run_notebooks import default_folder, find, run_all
    folder = Path(args.notebooks) if args.notebooks else default_folder()
    paths = find(folder, args.only)
    results = run_all(paths, Path(args.out), quick=args.quick, data=args.data, timeout=args.timeout, quiet=args.quiet)
    for r in results:
        print(f"{r['status']:6s} {r['seconds']:7.1f}s  {r['html']}" + (f"  ({r['error']})" if r.get("error") else ""))
    failed = [r["notebook"] for r in results if r["status"] != "ok"]
    if failed:
        raise RunError(f"{len(failed)} notebook(s) failed: {', '.join(failed)}; the executed copies in {args.out} "
                       "show the failing cell")
    return 0


def run_tensorboard(args) -> int:
    import time

    from cnnlab.report.tensorboard import start
    url = start([Path(r) for r in args.runs], host=args.host, port=args.port)
    print(f"TensorBoard at {url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", formatter_class=Formatter,
                       help="one self-contained HTML page (configs, curves, metrics, confusion matrix, sample "
                            "predictions) of one or more runs")
    p.add_argument("runs", nargs="+", metavar="RUN_DIR",
                   help="run folders written by 'cnnlab train' (a folder of runs, like a compare --out, stands for "
                        "all of them)")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.add_argument("--title", default="cnnlab report", help="page title")
    p.add_argument("--data", help="dataset folder for the sample predictions, when the one in the run's config.json "
                                  "is not reachable from here")
    p.add_argument("--samples", type=nonneg_int, default=8,
                   help="how many right and how many wrong test predictions to show per run (0 = none)")
    add_device(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run_report)

    n = sub.add_parser("notebooks", formatter_class=Formatter,
                       help="execute the assignment notebooks headless and export them as HTML")
    n.add_argument("--out", required=True, help="folder for the executed notebooks (.ipynb and .html)")
    n.add_argument("--quick", action="store_true", help="tiny settings (sets CNNLAB_QUICK=1): minutes on a CPU, for CI")
    n.add_argument("--data", help="folder of the datasets, each found in it as 'cnnlab handin --data' finds it "
                                  "(emnist-byclass-reduced/, fer2013/, cifar10/, torchvision's EMNIST/raw/ ...); sets "
                                  "CNNLAB_DATA (default: the notebooks' own default, ../shared/data next to the "
                                  "repository)")
    n.add_argument("--notebooks", help="folder of .ipynb files (default: notebooks/ of this checkout)")
    n.add_argument("--only", nargs="+", metavar="NAME", help="run only the notebooks whose file name contains NAME")
    n.add_argument("--timeout", type=positive_int, default=7200, help="seconds one cell may run")
    n.add_argument("--quiet", action="store_true", help="no progress bar")
    n.set_defaults(func=run_notebooks)

    t = sub.add_parser("tensorboard", formatter_class=Formatter, help="start TensorBoard on the runs' tb/ folders")
    t.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders (each with a tb/ folder)")
    t.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0 for every interface)")
    t.add_argument("--port", type=port, default=6006, help="port (0 = any free port)")
    t.set_defaults(func=run_tensorboard)
