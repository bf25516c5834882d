"""The hand-in's index.html: links to every document, notebook, model and video, with the machine, versions and
budget. The prose is templates/index.html; the lists are built here from the files that were written."""

from __future__ import annotations

import html
import re
import string
from importlib import resources
from pathlib import Path

from cnnlab.atomic import atomic_write_text
from cnnlab.page.document import css
from cnnlab.page.numbers import number
from cnnlab.page.tables import bullets as _ul, html_table as _table, link as _a


def theory_parts(out: Path) -> str:
    text = (out / "theory" / "theory.md").read_text()
    items = []
    for m in re.finditer(r'<a id="(q\d[a-e]?)"></a>\s*\n\s*\n#{2,3} (Q\d(?: \([a-e]\))?)[. ]\s*(.*)', text):
        anchor, label, title = m.groups()
        items.append(f"{_a(f'theory/theory.html#{anchor}', label)} {html.escape(title)} "
                     f"({_a(f'theory/theory.fa.html#{anchor}', 'fa')})")
    return _ul(items)


def notebooks(out: Path, names: list[tuple[str, str, str]]) -> str:
    items = []
    for name, _, question in names:
        page = out / "notebooks" / name.replace(".ipynb", ".html")
        parts = re.findall(r'<h2 id="([^"]+)">\s*((?:P\d) \([a-f]\)[^<]*)', page.read_text()) if page.exists() else []
        title = re.search(r"<h1[^>]*>([^<¶]+)", page.read_text()) if page.exists() else None
        head = (f"<b>{html.escape(question)}</b> {html.escape(title.group(1).strip()) if title else name}: "
                f"{_a('notebooks/' + page.name, 'HTML')} · {_a('notebooks/' + name, '.ipynb')}")
        items.append(head + _ul([_a(f"notebooks/{page.name}#{pid}", label.strip()) for pid, label in parts]))
    return _ul(items, "files")


def models(out: Path) -> str:
    import json
    rows = json.loads((out / "models" / "models.json").read_text())
    return _table(["question", "file", "model", "validation accuracy", "test accuracy", "open it in Keras"],
                  [[r["question"], _a(f"models/{r['file']}", r["file"]),
                    html.escape(r["label"] if r["label"] == r["arch"] else f"{r['label']} ({r['arch']})"),
                    number(r["val_accuracy"], ".4f"), number(r["test_accuracy"], ".4f"),
                    f"<code>keras.models.load_model(\"models/{html.escape(r['file'])}\")</code>"]
                   for r in rows])


def webcam(out: Path) -> str:
    folder = out / "webcam"
    videos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".mp4", ".avi", ".mov", ".mkv", ".webm"))
    items = [_a(f"webcam/{p.name}", p.name) for p in videos]
    items.append(_a("webcam/README.html", "README" if videos else "no video was recorded: how to record one"))
    return _ul(items)


def machine(h) -> str:
    env = environment_summary()
    m, v = env["machine"], env["versions"]
    memory = f", {m['memory_gib']} GiB" if m["memory_gib"] else ""
    rows = [["machine", html.escape(f"{m['cpu']}, {m['cores']} cores" + memory
                                    + (f", GPU {m['gpu']}" if m["gpu"] else ", no GPU"))],
            ["platform", html.escape(str(m["platform"]))],
            ["versions", html.escape(", ".join(f"{k} {val}" for k, val in v.items() if val))],
            ["git commit", html.escape(str(env["git_commit"] or "—"))],
            ["budget", html.escape(f"{h.budget}: {h.settings['about']}")],
            ["data", html.escape("; ".join(f"{k}: {v}" for k, v in h.datasets.items())
                                 or "the notebooks' default (../shared/data)")]]
    return _table(None, [[f"<b>{k}</b>", v] for k, v in rows])


def environment_summary() -> dict:
    """Machine and versions for the index page (cnnlab.environment's description)."""
    from cnnlab.environment import environment
    env = environment(packages=("nbclient", "nbconvert", "h5py", "keras"))  # keras: the .h5 files' writer
    versions = {**{k: env[k] for k in ("cnnlab", "torch", "torchvision", "python")}, **env["packages"]}
    return {"machine": {"cpu": env["cpu"] or "unknown", "cores": env["cores"],
                        "memory_gib": round(env["memory_gib"], 1) if env["memory_gib"] else None,
                        "gpu": env["cuda_device"], "platform": env["platform"]},
            "versions": versions, "git_commit": env["git_commit"]}


def steps(h) -> str:
    rows = [[html.escape(s.get("title", key)), s.get("status", ""), f"{s.get('seconds', 0):.0f} s",
             html.escape(s.get("finished", ""))] for key, s in h.state["steps"].items()]
    return _table(["step", "status", "time", "finished"], rows)


def files(out: Path) -> list[Path]:
    """Every file of the submission (not work/ nor the state file)."""
    skip = {"work"}
    return sorted(p for p in out.rglob("*") if p.is_file() and p.relative_to(out).parts[0] not in skip
                  and p.name not in ("handin.json", "index.html") and not p.name.startswith("."))


def write(h) -> Path:
    import datetime
    import shlex
    import sys

    out = h.out
    listing = [[_a(str(p.relative_to(out)), str(p.relative_to(out))), f"{p.stat().st_size / 1e3:,.0f} kB"]
               for p in files(out)]
    values = {
        "css": css(), "budget": html.escape(h.budget), "budget_about": html.escape(h.settings["about"]),
        "command": html.escape("cnnlab " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["handin"]
                               else f"cnnlab handin --out {out} --budget {h.budget}"),
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "theory_en": f"{_a('theory/theory.html', 'HTML')} · {_a('theory/theory.md', 'Markdown')}",
        "theory_fa": f"{_a('theory/theory.fa.html', 'HTML')} · {_a('theory/theory.fa.md', 'Markdown')}",
        "theory_parts": theory_parts(out), "notebooks": notebooks(out, h.notebook_list()),
        "models": models(out), "webcam": webcam(out), "machine": machine(h), "steps": steps(h),
        "files": _table(["file", "size"], listing),
    }
    page = string.Template((resources.files("cnnlab.handin") / "templates" / "index.html").read_text(encoding="utf-8"))
    atomic_write_text(out / "index.html", page.substitute(values))
    h.state["files"] = [str(p.relative_to(out)) for p in files(out)] + ["index.html"]
    return out / "index.html"
