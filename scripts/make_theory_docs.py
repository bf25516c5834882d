"""Write docs/theory.md and docs/theory.fa.md (and docs/figures/theory/*.png): the theory answers, question by
question, from the templates in src/cnnlab/theory/templates/ filled with values computed by cnnlab.theory
(see cnnlab/theory/answers.py).

Two kinds of numbers are measurements rather than exact computations: the autoencoder's training (a minute or two
on a CPU) and the activation timings. `--measure` measures them again and stores them in
docs/figures/theory/measured.json (the autoencoder figures are written by the same run); without it the script
reads that file, so a plain run reproduces the committed documents byte for byte (tests/theory/test_docs.py checks
this).

    python scripts/make_theory_docs.py              # documents + deterministic figures from measured.json
    python scripts/make_theory_docs.py --measure    # also retrain the autoencoder and time the activations
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # works from a checkout without `pip install -e .`

from cnnlab.theory import answers  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", default=str(ROOT / "docs"), help="docs folder to write")
    p.add_argument("--measure", action="store_true", help="retrain the autoencoder and time the activations")
    p.add_argument("--data", help="EMNIST folder for --measure (default: the sample shipped with cnnlab)")
    p.add_argument("--no-figures", action="store_true", help="write only the markdown")
    args = p.parse_args(argv)
    docs = Path(args.docs)
    measured_path = docs / answers.FIGURES / answers.MEASURED
    if args.measure:
        (docs / answers.FIGURES).mkdir(parents=True, exist_ok=True)
        measured = answers.measure(docs / answers.FIGURES, args.data)
    elif measured_path.exists():
        measured = json.loads(measured_path.read_text())
    else:
        print(f"{measured_path} is missing: run once with --measure", file=sys.stderr)
        return 2
    for path in answers.write(docs, measured, with_figures=not args.no_figures):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
