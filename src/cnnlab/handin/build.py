"""`cnnlab handin --out DIR --budget quick|cpu|gpu`: the folder a student submits.

    DIR/index.html              the page linking everything, with the machine, versions and budget
    DIR/theory/                 theory.md, theory.html (English), theory.fa.md, theory.fa.html (Persian), figures/
    DIR/notebooks/              the three notebooks executed: .ipynb with outputs and self-contained .html
    DIR/models/                 the best model of each practical question as .h5, README.md/.html: how to load them
    DIR/webcam/                 the webcam video (--video) and its annotated copy, or README.md: how to record one
    DIR/handin.json             the state of every step (a killed hand-in continues where it stopped) and the files
    DIR/work/<budget>/          the training runs (checkpoints, TensorBoard logs): not part of the submission

Steps that finished are not run again; the notebooks reuse finished training runs with the same settings and
continue interrupted ones from their last checkpoint, so the same command after a kill continues where it stopped.
"""

from __future__ import annotations

import datetime
import json
import shutil
import sys
import time
from pathlib import Path

from cnnlab.atomic import atomic_write_json, atomic_write_text
from cnnlab.errors import RunError, UsageError
from cnnlab.handin import budget as budgets
from cnnlab.page.numbers import number

NOTEBOOKS = [  # file, work folder (the notebook's setup()), question
    ("1_emnist_mlp_vs_cnn.ipynb", "1_emnist", "P1"),
    ("2_fer2013.ipynb", "2_fer2013", "P2"),
    ("3_distillation_cifar10.ipynb", "3_distillation", "P3"),
]
MODEL_FILES = {"P1": "p1_emnist_best.h5", "P2": "p2_fer2013_best.h5", "P3": "p3_cifar10_student_best.h5"}
STATE = "handin.json"
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
_STOP = {"requested": False}


def log(msg: str) -> None:
    """Progress, one line per step (also with --quiet, which only turns the progress bars off)."""
    print(msg, file=sys.stderr, flush=True)


class Handin:
    def __init__(self, out: Path, budget: str, data: str | None, video: str | None = None,
                 teacher_weights: str | None = None, notebooks: Path | None = None, timeout: int = 7200,
                 quiet: bool = False, datasets: dict[str, str | None] | None = None):
        from cnnlab.data import layout
        from cnnlab.report.run_notebooks import default_folder
        self.out, self.budget, self.quiet, self.timeout = Path(out), budget, quiet, timeout
        self.settings = budgets.settings(budget)
        self.data = Path(data) if data else None
        if self.data is not None and not self.data.is_dir():
            raise UsageError(f"--data {data}: no such folder; give the folder holding the datasets (each where "
                             "'cnnlab train DATASET --data' reads it), or one folder per dataset with --emnist, "
                             "--fer2013, --cifar10")
        # {dataset: folder} of every dataset found in --data or given by its own option; the others (neither
        # given) are left to the notebooks' default, ../shared/data
        self.datasets = layout.resolve(self.data, datasets or {})
        self.video = Path(video) if video else None
        if self.video is not None and (not self.video.is_file() or self.video.suffix.lower() not in VIDEO_SUFFIXES):
            raise UsageError(f"--video {video}: not a video file ({', '.join(VIDEO_SUFFIXES)}); record one with "
                             "'cnnlab live --camera 0 --out video.mp4 --duration 60'")
        self.teacher_weights = teacher_weights
        if teacher_weights and teacher_weights not in ("imagenet", "none") and not Path(teacher_weights).is_file():
            raise UsageError(f"--teacher-weights {teacher_weights}: no such file; give a ResNet state-dict file, "
                             "'imagenet' or 'none'")
        self.notebook_dir = Path(notebooks) if notebooks else default_folder()
        self.state = self._load_state()

    def notebook_list(self) -> list[tuple[str, str, str]]:
        return NOTEBOOKS

    # -- state --------------------------------------------------------------------------------------------------
    def _load_state(self) -> dict:
        path = self.out / STATE
        if path.exists():
            try:
                state = json.loads(path.read_text())
            except json.JSONDecodeError:
                raise UsageError(f"{path}: not a readable hand-in state; remove it (the runs in work/ are kept) "
                                 "and build again") from None
            if state.get("budget") != self.budget:
                raise UsageError(f"--out {self.out} holds a hand-in built with --budget {state.get('budget')}; "
                                 f"give that budget to continue it, or another --out for --budget {self.budget}")
            return state
        return {"budget": self.budget, "created": _now(), "steps": {}}

    def _save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.out / STATE, self.state)

    def inputs(self, step: str) -> dict:
        """What a step's result depends on besides the budget: a step whose inputs changed runs again (a video
        given later re-runs notebook 2 and the webcam step; an edited notebook runs again)."""
        video = {"video": _fingerprint(self.video)} if self.video else {}
        if step.startswith("notebook:"):
            name = step.split(":", 1)[1]
            teacher = {"teacher_weights": self.teacher_weights}
            extra = video if name.startswith("2_") else teacher if name.startswith("3_") else {}
            return {"notebook": _fingerprint(self.notebook_dir / name), **extra}
        if step == "models":
            return {f: _fingerprint(self.work(f) / "best_model.json") for _, f, _ in NOTEBOOKS}
        if step == "webcam":
            return video
        return {}

    def done(self, step: str) -> bool:
        record = self.state["steps"].get(step)
        return (bool(record) and record.get("status") == "done" and record.get("inputs", {}) == self.inputs(step)
                and all((self.out / f).exists() for f in record.get("files", [])))

    # -- running ------------------------------------------------------------------------------------------------
    def steps(self) -> list[tuple[str, str, callable]]:
        out = [("theory", "theory answers, English and Persian (Markdown and HTML)", self.theory)]
        for name, folder, q in NOTEBOOKS:
            out.append((f"notebook:{name}", f"{q}: execute {name} (budget {self.budget})",
                        lambda name=name: self.notebook(name)))
        out += [("models", "the best model of each practical question as .h5", self.models),
                ("webcam", "the webcam video, or how to record it", self.webcam)]
        return out

    def run(self) -> Path:
        _terminate_like_interrupt()
        self.out.mkdir(parents=True, exist_ok=True)
        steps = self.steps()
        total = len(steps) + 1
        t_all = time.perf_counter()
        for i, (key, title, func) in enumerate(steps, 1):
            if self.done(key):
                log(f"[{i}/{total}] {title}: done earlier, kept")
                continue
            log(f"[{i}/{total}] {title} ...")
            t0 = time.perf_counter()
            try:
                files = func()
            except BaseException as e:
                if _STOP["requested"] or isinstance(e, KeyboardInterrupt):  # whatever a stop broke on its way out
                    log(f"[{i}/{total}] stopped during: {title}. The same command continues from here (finished "
                        "steps and training runs are kept)")
                    raise KeyboardInterrupt from None
                raise
            seconds = round(time.perf_counter() - t0, 1)
            self.state["steps"][key] = {"status": "done", "title": title, "seconds": seconds, "finished": _now(),
                                        "inputs": self.inputs(key),
                                        "files": [str(Path(f).relative_to(self.out)) for f in files]}
            self._save()
            log(f"[{i}/{total}] {title}: done in {seconds:.0f} s")
        log(f"[{total}/{total}] index page ...")
        from cnnlab.handin import index
        page = index.write(self)
        self.state["finished"] = _now()
        self.state["seconds_this_call"] = round(time.perf_counter() - t_all, 1)
        self._save()
        log(f"[{total}/{total}] index page: {page}")
        return page

    # -- steps --------------------------------------------------------------------------------------------------
    def theory(self) -> list[Path]:
        from cnnlab.page import markdown as pages
        from cnnlab.theory import answers
        folder = self.out / "theory"
        fig = folder / answers.FIGURES
        fig.mkdir(parents=True, exist_ok=True)
        theory = self.settings["theory"]
        stored = _repo_docs() / answers.FIGURES
        if not theory.get("measure") and (stored / answers.MEASURED).exists():
            log("    the autoencoder and timing measurements stored in docs/ (budget quick measures nothing)")
            measured = json.loads((stored / answers.MEASURED).read_text())
            for name in ("reconstructions.png", "denoising.png"):
                shutil.copy2(stored / name, fig / name)
        else:
            log(f"    measuring: activation timings, autoencoder ({theory.get('epochs', 3)} epochs)")
            emnist = self.datasets.get("emnist")
            measured = answers.measure(fig, str(emnist) if emnist and emnist.is_dir() else None,
                                       epochs=theory.get("epochs", 3), train_images=theory.get("train_images", 8000),
                                       test_images=theory.get("test_images", 1000))
        docs = answers.write(folder, measured)
        pages_ = [pages.write(folder / answers.DOC_NAMES["en"], "Theory questions: the answers", "en"),
                  pages.write(folder / answers.DOC_NAMES["fa"], "سوالات تشریحی: پاسخ‌ها", "fa")]
        return docs + pages_ + sorted(fig.glob("*.png")) + [fig / answers.MEASURED]

    def notebook_env(self) -> dict:
        from cnnlab.report.run_notebooks import kernel_env
        env = kernel_env(self.budget == "quick", str(self.data) if self.data else None, self.out / "work")
        env["CNNLAB_BUDGET"] = self.budget
        for name, folder in self.datasets.items():  # read by the notebooks' setup().dataset(name)
            env[f"CNNLAB_DATA_{name.upper()}"] = str(folder)
        env.pop("CNNLAB_VIDEO", None)
        if self.video:
            env["CNNLAB_VIDEO"] = str(self.video.resolve())
        if self.teacher_weights:
            env["CNNLAB_TEACHER_WEIGHTS"] = str(Path(self.teacher_weights).resolve()) \
                if Path(self.teacher_weights).is_file() else self.teacher_weights
        return env

    def notebook(self, name: str) -> list[Path]:
        from cnnlab.report.run_notebooks import run_one
        path = self.notebook_dir / name
        if not path.is_file():
            raise UsageError(f"{path}: no such notebook; give --notebooks DIR, the notebooks/ folder of a cnnlab "
                             "checkout")
        folder = self.out / "notebooks"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            r = run_one(path, folder, self.notebook_env(), self.timeout, self.quiet)
        except AssertionError:  # nbclient's own SIGINT/SIGTERM handler shut the kernel down, then tripped over
            raise KeyboardInterrupt from None  # its second clean-up: the hand-in was stopped
        if r["status"] != "ok":
            raise RunError(f"notebook {name} failed ({r['error']}); {r['html']} shows the failing cell. Run the "
                           "same command again to continue: finished steps and training runs are kept")
        return [Path(r["ipynb"]), Path(r["html"])]

    def work(self, folder: str) -> Path:
        return self.out / "work" / self.budget / folder

    def best_records(self) -> list[dict]:
        records = []
        for _, folder, q in NOTEBOOKS:
            path = self.work(folder) / "best_model.json"
            if not path.exists():
                raise RunError(f"{path} is missing: the {q} notebook did not save its best model; run the hand-in "
                               "again")
            record = json.loads(path.read_text())
            if "keras_layers" not in record:  # a notebook run before the .h5 became a Keras model
                raise RunError(f"{path} records an .h5 of the old layout (PyTorch weights, not a Keras model): "
                               f"delete it and run the hand-in again, which runs the {q} notebook again")
            records.append(record)
        return records

    def models(self) -> list[Path]:
        from cnnlab.page import markdown as pages
        folder = self.out / "models"
        folder.mkdir(parents=True, exist_ok=True)
        files, rows = [], []
        for record in self.best_records():
            target = folder / MODEL_FILES[record["question"]]
            shutil.copy2(record["h5"], target)
            files.append(target)
            rows.append({**record, "file": target.name})
        atomic_write_json(folder / "models.json", rows)
        text = _template("models.md").format(rows="\n".join(_model_row(r) for r in rows),
                                             loads="\n\n".join(_model_load(r) for r in rows))
        atomic_write_text(folder / "README.md", text)
        return files + [folder / "models.json", folder / "README.md", pages.write(folder / "README.md", "Models")]

    def webcam(self) -> list[Path]:
        from cnnlab.page import markdown as pages
        from cnnlab.notebook_helpers.webcam import RECORD_COMMAND
        folder = self.out / "webcam"
        folder.mkdir(parents=True, exist_ok=True)
        if self.video:
            target = folder / f"video{self.video.suffix.lower()}"
            shutil.copy2(self.video, target)
            files = [target]
            annotated = self.work("2_fer2013") / "video_annotated.mp4"
            if annotated.exists():
                shutil.copy2(annotated, folder / annotated.name)
                files.append(folder / annotated.name)
            text = _template("webcam_video.md").format(video=target.name, annotated=files[-1].name,
                                                       command=RECORD_COMMAND)
        else:
            files = []
            text = _template("webcam_note.md").format(command=RECORD_COMMAND)
        atomic_write_text(folder / "README.md", text)
        return files + [folder / "README.md", pages.write(folder / "README.md", "Webcam")]


def _terminate_like_interrupt() -> None:
    """SIGTERM (a `kill`, a job scheduler's time limit) stops the hand-in the way Ctrl-C does: the running
    notebook's kernel is shut down (its training keeps the checkpoints written so far), and the same command
    continues later."""
    import signal

    def interrupt(*_):
        _STOP["requested"] = True
        raise KeyboardInterrupt
    try:
        signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread
        pass


def _fingerprint(path: Path) -> str | None:
    """sha256 of a file's bytes (None when it is not there)."""
    import hashlib
    path = Path(path)
    if not path.is_file():
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _repo_docs() -> Path:
    import cnnlab
    return Path(cnnlab.__file__).resolve().parents[2] / "docs"


def _template(name: str) -> str:
    from importlib import resources
    return (resources.files("cnnlab.handin") / "templates" / name).read_text(encoding="utf-8")


def agreement(r: dict) -> str:
    """What the notebook measured: Keras' predictions against cnnlab's on real test images."""
    c = r["load_check"]
    return (f"same class on {c['agreement']:.1%} of {c['images']} images, probabilities within "
            f"{c['max_abs_diff']:.1g} in Keras {c['keras']}")


def _model_row(r: dict) -> str:
    return (f"| {r['question']} | [`{r['file']}`]({r['file']}) | {r['label']} ({r['arch']}) | "
            f"{number(r['val_accuracy'], '.4f')} | {number(r['test_accuracy'], '.4f')} | {r['why']} | {agreement(r)} |")


def keras_lines(file: str) -> str:
    """The three lines a Keras user runs on a hand-in model."""
    return f"import keras\nm = keras.models.load_model(\"{file}\")\np = m.predict(images)"


def _model_load(r: dict) -> str:
    c, h, w = r["input_shape"]
    lines = keras_lines(r["file"]).replace("\n", "\n    ")
    return (f"**{r['question']}** (`{r['file']}`): `images` float32 `(N, {h}, {w}, {c})`, {len(r['classes'])} "
            f"classes of {r['dataset']}: {', '.join(r['classes'])}\n\n    {lines}")


def build(out: str, budget: str, data: str | None, video: str | None = None, teacher_weights: str | None = None,
          notebooks: str | None = None, timeout: int = 7200, quiet: bool = False,
          datasets: dict[str, str | None] | None = None) -> Path:
    h = Handin(Path(out), budget, data, video, teacher_weights, Path(notebooks) if notebooks else None, timeout, quiet,
               datasets)
    return h.run()
