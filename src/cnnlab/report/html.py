"""One self-contained HTML page about one or more run folders.

Figures are embedded as data: URIs and the CSS is inline: the page loads nothing from outside, so it can be
mailed, handed in, opened offline, read on a phone (responsive CSS) and printed (print CSS).

Per run: configuration, loss/accuracy curves (history.csv), metrics with per-class precision and recall, the
confusion matrix (counts and row-normalised) with the most frequent confusions, and sample predictions (the
best checkpoint re-run on a few test images, right and wrong). With several runs: a side-by-side table and
overlaid curves first. comparison.md / sweep.md found next to the runs are included.
"""

from __future__ import annotations

import datetime
import json
import tempfile
from pathlib import Path

from cnnlab.atomic import atomic_write_text
from cnnlab.engine.runfolder import RunFolder
from cnnlab.page import markdown, snippets, tables
from cnnlab.page.document import document, figure as img
from cnnlab.page.numbers import number
from cnnlab.page.tables import esc
from cnnlab.report import runs as runs_mod
from cnnlab.report.runs import Run

DASH = "-"  # a missing number in the report

SUMMARY_ROWS = [  # (label, where: "m" metrics / "c" config, key)
    ("dataset", "c", "dataset"), ("model", "c", "model"), ("parameters", "m", "params_total"),
    ("epochs", "c", "epochs"), ("best epoch", "m", "best_epoch"), ("batch size", "c", "batch_size"),
    ("optimizer", "c", "optimizer"), ("learning rate", "c", "lr"), ("weight decay (L2)", "c", "weight_decay"),
    ("dropout", "c", "dropout"), ("augmentation", "c", "augment"), ("train images", "c", "train_samples"),
    ("test images", "m", "num_samples"), ("accuracy", "m", "accuracy"), ("macro precision", "m", "precision_macro"),
    ("macro recall", "m", "recall_macro"), ("macro F1", "m", "f1_macro"), ("weighted F1", "m", "f1_weighted"),
    ("test loss", "m", "loss"), ("train seconds", "m", "train_seconds"), ("images/s", "m", "images_per_second"),
]


# ---------------------------------------------------------------------------------------------------------------
# Small HTML helpers

def fmt(v, spec: str | None = None) -> str:
    return number(v, spec, DASH)


def table(head: list[str], rows: list[list], row_class: list[str] | None = None, cls: str = "",
          uniform: str = "columns") -> str:
    return tables.table(head, rows, row_class, cls, uniform, DASH)


def say(key: str, **values) -> str:
    """The sentence `key` of templates/captions.md, filled in (as text: escape it for the page)."""
    return snippets.read("cnnlab.report", "captions.md")[key].format(**values)


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def section(sid: str, title: str, body: str, level: int = 3) -> str:
    heading = f"<h{level}>{esc(title)}</h{level}>"
    return f'<section id="{esc(sid)}" data-section="{esc(sid.split("-", 1)[-1])}">{heading}{body}</section>'


def setting(v) -> str | None:
    """A configuration value as written in config.json (0.003 stays 0.003, not 0.0030)."""
    return v if v is None or isinstance(v, str) else json.dumps(v)


def value(run: Run, where: str, key: str):
    if where == "m":
        return run.metrics.get(key)
    return setting(config_value(run, key))


def config_value(run: Run, key: str):
    if key == "dropout":
        return (run.config.get("model_kwargs_resolved") or run.config.get("model_kwargs") or {}).get("dropout")
    if key == "train_samples":
        return (run.config.get("samples") or {}).get("train")
    return run.config.get(key)


# ---------------------------------------------------------------------------------------------------------------
# Sections of one run

def config_section(run: Run, sid: str) -> str:
    skip = {"environment", "classes"}
    rows = [[k, setting(v)] for k, v in run.config.items() if k not in skip]
    classes = run.config.get("classes") or run.metrics.get("classes") or []
    rows.append(["classes", f"{len(classes)}: {' '.join(map(str, classes))}"])
    env = run.config.get("environment") or {}
    env_rows = [[k, setting(v)] for k, v in env.items()]
    body = table(["setting", "value"], rows, cls="kv", uniform="none")
    if env_rows:
        body += "<h4>Environment</h4>" + table(["package / machine", "value"], env_rows, cls="kv", uniform="none")
    return section(sid, "Configuration", body)


def curves_section(run: Run, sid: str, tmp: Path) -> str:
    from cnnlab import plots
    if not run.history:
        missing = say("curves_missing", history=RunFolder(run.path).history)
        return section(sid, "Loss and accuracy curves", note(missing))
    path = plots.curves(run.history, tmp / f"{sid}.png", title=f"{run.config.get('dataset', '')} / {run.model}")
    rows = [[int(h["epoch"]), h.get("train_loss"), h.get("train_acc"), h.get("val_loss"), h.get("val_acc"),
             h.get("test_loss"), h.get("test_acc"), h.get("lr"), h.get("seconds")] for h in run.history]
    return section(sid, "Loss and accuracy curves",
                   img(path, "loss and accuracy per epoch", say("curves"))
                   + table(["epoch", "train loss", "train acc", "val loss", "val acc", "test loss", "test acc", "lr",
                            "seconds"], rows))


def metrics_section(run: Run, sid: str) -> str:
    m = run.metrics
    kpis = [("accuracy", m.get("accuracy")), ("macro precision", m.get("precision_macro")),
            ("macro recall", m.get("recall_macro")), ("macro F1", m.get("f1_macro")),
            ("parameters", m.get("params_total")), ("best epoch", m.get("best_epoch"))]
    body = ('<div class="kpis">' + "".join(f'<div class="kpi">{esc(k)}<b>{esc(fmt(v))}</b></div>' for k, v in kpis)
            + "</div>")
    body += f"<p>{esc(say('metrics', images=fmt(m.get('num_samples')), split=m.get('split') or 'test'))}</p>"
    body += table(["average", "precision", "recall", "F1"],
                  [[avg, m.get(f"precision_{avg}"), m.get(f"recall_{avg}"), m.get(f"f1_{avg}")]
                   for avg in ("macro", "weighted")])
    per = m.get("per_class") or {}
    rows = [[c, v.get("precision"), v.get("recall"), v.get("f1"), v.get("support")] for c, v in per.items()]
    if rows:  # folded: a 62-class table would make the page very long; the summary above stays open
        body += (f"<details><summary>{esc(say('per_class', classes=len(rows)))}</summary>"
                 + table(["class", "precision", "recall", "F1", "support"], rows) + "</details>")
    return section(sid, "Metrics", body)


def top_confusions(matrix: list[list[int]], classes: list[str], n: int = 10) -> list[list]:
    pairs = [(matrix[i][j], i, j) for i in range(len(classes)) for j in range(len(classes)) if i != j and matrix[i][j]]
    pairs.sort(reverse=True)
    rows = []
    for count, i, j in pairs[:n]:
        total = sum(matrix[i])
        rows.append([classes[i], classes[j], count, count / total if total else None])
    return rows


def confusion_section(run: Run, sid: str, tmp: Path) -> str:
    from cnnlab import plots
    cm, classes = run.metrics["confusion_matrix"], run.metrics["classes"]
    wide = len(classes) > 15  # many classes: one panel per row, full width
    figs = "".join(img(plots.confusion_panel(cm, classes, tmp / f"{sid}-{kind}.png", normalized=kind == "norm"),
                       f"confusion matrix ({'row-normalised' if kind == 'norm' else 'counts'})")
                   for kind in ("counts", "norm"))
    body = (f'<div class="{"stack" if wide else "pair"}">{figs}</div><p class="caption">{esc(say("confusion"))}</p>')
    rows = top_confusions(cm, classes)
    if rows:
        columns = ["true", "predicted as", "count", "share of true class"]
        body += "<h4>Most frequent confusions</h4>" + table(columns, rows)
    return section(sid, "Confusion matrix", body)


def samples_section(run: Run, sid: str, data: str | None, n: int, device: str) -> str:
    from cnnlab.errors import CnnlabError
    from cnnlab.report.samples import png_data_uri, predictions
    title = "Sample predictions"
    if n <= 0:
        return section(sid, title, note(say("samples_off")))
    folder = runs_mod.data_folder(run, data)
    if folder is None:
        where = data or run.config.get("data")
        return section(sid, title, note(say("samples_unreachable", folder=where)))
    try:
        items = predictions(run, folder, n_right=n, n_wrong=n, device=device)
    except CnnlabError as e:
        return section(sid, title, note(say("samples_failed", error=e)))
    cards = "".join(f'<figure class="{"ok" if s["correct"] else "bad"}"><img alt="true {esc(s["true"])}" '
                    f'src="{png_data_uri(s["image"])}"><figcaption>true <b>{esc(s["true"])}</b><br>'
                    f'pred <b>{esc(s["pred"])}</b> {s["prob"]:.2f}</figcaption></figure>' for s in items)
    right = sum(s["correct"] for s in items)
    body = (f"<p>{esc(say('samples', folder=folder.resolve(), right=right, wrong=len(items) - right))}</p>"
            f'<div class="samples">{cards}</div>')
    return section(sid, title, body)


def run_section(run: Run, n: int, tmp: Path, data: str | None, samples: int, device: str, step=lambda: None) -> str:
    sid = f"run{n}"
    m = run.metrics
    line = say("run_line", path=run.path, accuracy=fmt(m.get("accuracy")), recall=fmt(m.get("recall_macro")))
    parts = [f'<section class="run" id="{sid}"><h2>{esc(run.name)}: {esc(run.model)} on '
             f'{esc(run.config.get("dataset", "?"))}</h2><p>{esc(line)}</p>']
    for make in (lambda: config_section(run, f"{sid}-config"), lambda: curves_section(run, f"{sid}-curves", tmp),
                 lambda: metrics_section(run, f"{sid}-metrics"),
                 lambda: confusion_section(run, f"{sid}-confusion", tmp),
                 lambda: samples_section(run, f"{sid}-samples", data, samples, device)):
        parts.append(make())
        step()
    parts.append("</section>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# Several runs

def comparison_section(runs: list[Run], tmp: Path) -> str:
    from cnnlab import plots
    rows, classes = [], []
    for label, where, key in SUMMARY_ROWS:
        vals = [value(r, where, key) for r in runs]
        if all(v is None for v in vals):
            continue
        rows.append([label, *vals])
        same = len({json.dumps(v, sort_keys=True) for v in vals}) == 1
        classes.append("" if same or where == "m" else "diff")
    body = (f"<p>{esc(say('side_by_side'))}</p>"
            + table(["", *[r.name for r in runs]], rows, classes, uniform="rows"))
    histories = {r.name: r.history for r in runs if r.history}
    if histories:
        path = plots.overlay_curves(histories, tmp / "overlay.png", title="all runs")
        body += img(path, "overlaid curves", say("overlay"))
    return f'<section id="side-by-side" data-section="side-by-side"><h2>Side by side</h2>{body}</section>'


# ---------------------------------------------------------------------------------------------------------------
# The page

def write_report(runs: list[Path], out: Path, title: str = "cnnlab report", extra_markdown: str = "",
                 data: str | None = None, samples: int = 8, device: str = "cpu", quiet: bool = True) -> Path:
    """Write the report of `runs` (run folders, or folders of runs) to `out`; returns `out`.

    `data` overrides the dataset folder used for the sample predictions; `samples` is how many right and how
    many wrong predictions to show (0: none).
    """
    import cnnlab
    from cnnlab.engine.logging import progress
    paths = runs_mod.expand(runs)
    runs_ = [runs_mod.load(p, n) for p, n in zip(paths, runs_mod.names(paths))]
    bar = progress(5 * len(runs_) + 1, "report", quiet)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    toc = "".join(f'<li><a href="#run{i}">{esc(r.name)}</a> '
                  f'({esc(r.model)}, accuracy {fmt(r.metrics.get("accuracy"))})</li>'
                  for i, r in enumerate(runs_, 1))
    if len(runs_) > 1:
        toc = '<li><a href="#side-by-side">side by side</a></li>' + toc
    written = say("written", runs=len(runs_), stamp=stamp, version=cnnlab.__version__)
    parts = [f"<h1>{esc(title)}</h1><p>{esc(written)}</p>",
             f"<nav><ul>{toc}</ul></nav>"]
    shown = {extra_markdown.strip()} if extra_markdown else set()
    if extra_markdown:
        parts.append(f'<section id="notes">{markdown.notes(extra_markdown)}</section>')
    for f in runs_mod.notes(paths):
        text = f.read_text()
        if text.strip() not in shown:
            shown.add(text.strip())
            figure = img(f.with_suffix(".png"), f.stem) if f.with_suffix(".png").is_file() else ""  # sweep.png
            parts.append(f'<section id="{esc(f.stem)}" data-section="{esc(f.stem)}"><p><i>{esc(f)}</i></p>'
                         f"{markdown.notes(text)}{figure}</section>")
    with tempfile.TemporaryDirectory(prefix="cnnlab-report-") as tmp:
        tmp = Path(tmp)
        if len(runs_) > 1:
            parts.append(comparison_section(runs_, tmp))
        bar.update(1)
        for i, r in enumerate(runs_, 1):
            parts.append(run_section(r, i, tmp, data, samples, device, step=lambda: bar.update(1)))
    bar.close()
    atomic_write_text(Path(out), document(title, "\n".join(parts)))
    return Path(out)
