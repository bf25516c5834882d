"""One self-contained HTML page about one or more run folders.

Figures are embedded as data: URIs and the CSS is inline: the page loads nothing from outside, so it can be
mailed, handed in, opened offline, read on a phone (responsive CSS) and printed (print CSS).

Per run: configuration, loss/accuracy curves (history.csv), metrics with per-class precision and recall, the
confusion matrix (counts and row-normalised) with the most frequent confusions, and sample predictions (the
best checkpoint re-run on a few test images, right and wrong). With several runs: a side-by-side table and
overlaid curves first. comparison.md / sweep.md found next to the runs are included.
"""

from __future__ import annotations

import base64
import datetime
import html
import json
import tempfile
from pathlib import Path

from cnnlab.engine.checkpoint import atomic_write_text
from cnnlab.engine.runfolder import RunFolder
from cnnlab.report import markdown, runs as runs_mod
from cnnlab.report.numbers import float_format
from cnnlab.report.runs import Run

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin:auto;padding:1em;
 line-height:1.45;color:#1d1d1f;background:#fff}
h1{font-size:1.6em;margin:.3em 0}h2{font-size:1.3em;border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
h3{font-size:1.08em;margin-top:1.2em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.6em 0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.92em}
td,th{border:1px solid #d5d5d5;padding:.25em .55em;text-align:right;white-space:nowrap}
th{background:#f3f4f6}th:first-child,td:first-child{text-align:left}
td.text{text-align:left;white-space:normal;word-break:break-word}
tr.diff td{background:#fff8e1}
img{max-width:100%;height:auto}
figure{margin:.6em 0}figcaption,.caption{font-size:.85em;color:#555}
.pair{display:flex;flex-wrap:wrap;gap:1em}.pair figure{flex:1 1 320px;margin:0}
table.kv td{text-align:left;white-space:normal;word-break:break-word}
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:.85em}
nav ul{padding-left:1.2em}
details{margin:.6em 0}summary{cursor:pointer;font-weight:600}
.note{background:#fff4e5;border-left:4px solid #f0a020;padding:.4em .7em}
.kpis{display:flex;flex-wrap:wrap;gap:.5em;margin:.6em 0}
.kpi{border:1px solid #ddd;border-radius:6px;padding:.35em .7em;min-width:8em}
.kpi b{display:block;font-size:1.25em}
.samples{display:grid;grid-template-columns:repeat(auto-fill,minmax(92px,1fr));gap:.5em}
.samples figure{margin:0;text-align:center;border:2px solid #ccc;border-radius:6px;padding:.3em}
.samples img{width:100%;image-rendering:pixelated}
.samples .ok{border-color:#2e7d32}.samples .bad{border-color:#c62828}
.samples figcaption{font-size:.78em;line-height:1.25;color:#222}
@media (max-width:640px){body{padding:.5em;font-size:15px}td,th{padding:.2em .35em}h1{font-size:1.3em}}
@media print{
 body{max-width:none;padding:0;font-size:10pt}nav,.noprint{display:none}
 .scroll{overflow:visible}table{font-size:8.5pt}td,th{white-space:normal}
 section.run{break-before:page}h2,h3{break-after:avoid}figure,table,.kpis,img{break-inside:avoid}
 .samples{grid-template-columns:repeat(8,1fr)}
}
"""

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

def esc(v) -> str:
    return html.escape(str(v))


def fmt(v, spec: str | None = None) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float):
        return format(v, spec or float_format([v]))
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def table(head: list[str], rows: list[list], row_class: list[str] | None = None, cls: str = "",
          uniform: str = "columns") -> str:
    """`uniform`: the numbers of each column ("columns"), or of each row ("rows": one quantity per row), share one
    format; "none" formats each number alone (a settings table)."""
    if uniform == "columns":
        specs = [[float_format([r[i] for r in rows if i < len(r)]) for i in range(len(r))] for r in rows]
    elif uniform == "rows":
        specs = [[float_format(r[1:])] * len(r) for r in rows]
    else:
        specs = [[None] * len(r) for r in rows]

    def cell(v, i: int, spec) -> str:
        cls = ' class="text"' if i > 0 and isinstance(v, (str, dict, list)) and len(fmt(v)) > 24 else ""
        return f"<td{cls}>{esc(fmt(v, spec))}</td>"
    body = "".join(f"<tr{f' class={chr(34)}{row_class[n]}{chr(34)}' if row_class and row_class[n] else ''}>"
                   + "".join(cell(v, i, specs[n][i]) for i, v in enumerate(r)) + "</tr>" for n, r in enumerate(rows))
    return (f'<div class="scroll"><table{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}><thead><tr>'
            + "".join(f"<th>{esc(h)}</th>" for h in head)
            + f"</tr></thead><tbody>{body}</tbody></table></div>")


def img(path: Path, alt: str, caption: str = "") -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{data}">{cap}</figure>'


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


def section(sid: str, title: str, body: str, level: int = 3) -> str:
    return f'<section id="{esc(sid)}" data-section="{esc(sid.split("-", 1)[-1])}"><h{level}>{esc(title)}</h{level}>{body}</section>'


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
        return section(sid, "Loss and accuracy curves", note(f"{RunFolder(run.path).history} is missing: no curves."))
    path = plots.curves(run.history, tmp / f"{sid}.png", title=f"{run.config.get('dataset', '')} / {run.model}")
    rows = [[int(h["epoch"]), h.get("train_loss"), h.get("train_acc"), h.get("val_loss"), h.get("val_acc"),
             h.get("test_loss"), h.get("test_acc"), h.get("lr"), h.get("seconds")] for h in run.history]
    return section(sid, "Loss and accuracy curves",
                   img(path, "loss and accuracy per epoch", "Loss (left) and accuracy (right) per epoch: train, "
                       "validation (carved from train; picks the best checkpoint) and test.")
                   + table(["epoch", "train loss", "train acc", "val loss", "val acc", "test loss", "test acc", "lr",
                            "seconds"], rows))


def metrics_section(run: Run, sid: str) -> str:
    m = run.metrics
    kpis = [("accuracy", m.get("accuracy")), ("macro precision", m.get("precision_macro")),
            ("macro recall", m.get("recall_macro")), ("macro F1", m.get("f1_macro")),
            ("parameters", m.get("params_total")), ("best epoch", m.get("best_epoch"))]
    body = '<div class="kpis">' + "".join(f'<div class="kpi">{esc(k)}<b>{esc(fmt(v))}</b></div>' for k, v in kpis) + "</div>"
    body += f"<p>The best checkpoint (by validation accuracy) on {fmt(m.get('num_samples'))} {esc(m.get('split') or 'test')} images.</p>"
    body += table(["average", "precision", "recall", "F1"],
                  [[avg, m.get(f"precision_{avg}"), m.get(f"recall_{avg}"), m.get(f"f1_{avg}")] for avg in ("macro", "weighted")])
    per = m.get("per_class") or {}
    rows = [[c, v.get("precision"), v.get("recall"), v.get("f1"), v.get("support")] for c, v in per.items()]
    if rows:  # folded: a 62-class table would make the page very long; the summary above stays open
        body += (f"<details><summary>Per class: precision, recall, F1 and support of each of the {len(rows)} "
                 "classes</summary>" + table(["class", "precision", "recall", "F1", "support"], rows) + "</details>")
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
    body = (f'<div class="{"stack" if wide else "pair"}">{figs}</div><p class="caption">Rows: true class, columns: '
            "predicted class. Counts, then rows normalised to sum 1 (the diagonal is each class's recall).</p>")
    rows = top_confusions(cm, classes)
    if rows:
        body += "<h4>Most frequent confusions</h4>" + table(["true", "predicted as", "count", "share of true class"], rows)
    return section(sid, "Confusion matrix", body)


def samples_section(run: Run, sid: str, data: str | None, n: int, device: str) -> str:
    from cnnlab.errors import CnnlabError
    from cnnlab.report.samples import png_data_uri, predictions
    title = "Sample predictions"
    if n <= 0:
        return section(sid, title, note("sample predictions turned off (--samples 0)."))
    folder = runs_mod.data_folder(run, data)
    if folder is None:
        where = data or run.config.get("data")
        return section(sid, title, note(f"data folder {where} is not reachable from here, so no sample predictions; "
                                        "pass --data DIR (the run's dataset) to show them."))
    try:
        items = predictions(run, folder, n_right=n, n_wrong=n, device=device)
    except CnnlabError as e:
        return section(sid, title, note(f"no sample predictions: {e}"))
    cards = "".join(f'<figure class="{"ok" if s["correct"] else "bad"}"><img alt="true {esc(s["true"])}" '
                    f'src="{png_data_uri(s["image"])}"><figcaption>true <b>{esc(s["true"])}</b><br>'
                    f'pred <b>{esc(s["pred"])}</b> {s["prob"]:.2f}</figcaption></figure>' for s in items)
    right = sum(s["correct"] for s in items)
    body = (f"<p>The best checkpoint re-run on random test images from {esc(folder.resolve())}: {right} right (green), "
            f"{len(items) - right} wrong (red); the number is the predicted class's probability.</p>"
            f'<div class="samples">{cards}</div>')
    return section(sid, title, body)


def run_section(run: Run, n: int, tmp: Path, data: str | None, samples: int, device: str, step=lambda: None) -> str:
    sid = f"run{n}"
    m = run.metrics
    parts = [f'<section class="run" id="{sid}"><h2>{esc(run.name)}: {esc(run.model)} on '
             f'{esc(run.config.get("dataset", "?"))}</h2><p>{esc(run.path)} &middot; test accuracy '
             f'{fmt(m.get("accuracy"))}, macro recall {fmt(m.get("recall_macro"))}</p>']
    for make in (lambda: config_section(run, f"{sid}-config"), lambda: curves_section(run, f"{sid}-curves", tmp),
                 lambda: metrics_section(run, f"{sid}-metrics"), lambda: confusion_section(run, f"{sid}-confusion", tmp),
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
    body = ("<p>One column per run; settings that differ between runs are highlighted.</p>"
            + table(["", *[r.name for r in runs]], rows, classes, uniform="rows"))
    histories = {r.name: r.history for r in runs if r.history}
    if histories:
        path = plots.overlay_curves(histories, tmp / "overlay.png", title="all runs")
        body += img(path, "overlaid curves", "Loss and accuracy per epoch of every run: test solid, train dashed.")
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
    toc = "".join(f'<li><a href="#run{i}">{esc(r.name)}</a> ({esc(r.model)}, accuracy {fmt(r.metrics.get("accuracy"))})</li>'
                  for i, r in enumerate(runs_, 1))
    if len(runs_) > 1:
        toc = '<li><a href="#side-by-side">side by side</a></li>' + toc
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>{esc(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1><p>{len(runs_)} run(s), written {stamp} by cnnlab {esc(cnnlab.__version__)}.</p>",
             f"<nav><ul>{toc}</ul></nav>"]
    shown = {extra_markdown.strip()} if extra_markdown else set()
    if extra_markdown:
        parts.append(f'<section id="notes">{markdown.to_html(extra_markdown)}</section>')
    for f in runs_mod.notes(paths):
        text = f.read_text()
        if text.strip() not in shown:
            shown.add(text.strip())
            figure = img(f.with_suffix(".png"), f.stem) if f.with_suffix(".png").is_file() else ""  # sweep.png
            parts.append(f'<section id="{esc(f.stem)}" data-section="{esc(f.stem)}"><p><i>{esc(f)}</i></p>'
                         f"{markdown.to_html(text)}{figure}</section>")
    with tempfile.TemporaryDirectory(prefix="cnnlab-report-") as tmp:
        tmp = Path(tmp)
        if len(runs_) > 1:
            parts.append(comparison_section(runs_, tmp))
        bar.update(1)
        for i, r in enumerate(runs_, 1):
            parts.append(run_section(r, i, tmp, data, samples, device, step=lambda: bar.update(1)))
    bar.close()
    parts.append("</body></html>")
    atomic_write_text(Path(out), "\n".join(parts))
    return Path(out)
