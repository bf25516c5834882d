"""`cnnlab handin --budget quick` end to end on the shared data: every file the index lists is there and opens
(HTML parses and loads nothing from outside, notebooks executed without errors, .h5 files load back into the same
predictions as the runs they came from), the theory and the notebooks answer every part, and a second call
continues instead of starting again."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import torch

from cnnlab.export import load_h5
from cnnlab.notebook_helpers import discuss
from cnnlab.notebook_helpers.reuse import differences, train_or_reuse
from cnnlab.runs import load_model
from cnnlab.theory import answers

from conftest import CIFAR, EMNIST, FER, ROOT, SHARED, cnnlab

NOTEBOOK_PARTS = {
    "1_emnist_mlp_vs_cnn": ["P1 (a)", "P1 (b)", "P1 (c)", "P1 (d)", "P1 (e)", "P1 (f)"],
    "2_fer2013": ["P2 (a)", "P2 (b)", "P2 (c)"],
    "3_distillation_cifar10": ["P3 (a)", "P3 (b)", "P3 (c)", "P3 (d)"],
}


# `cnnlab handin --budget quick` takes minutes: the first test that uses this fixture pays for it, so every such
# test may run longer than pytest-timeout's default (pyproject.toml).
@pytest.fixture(scope="module")
def handin(tmp_path_factory):
    out = tmp_path_factory.mktemp("handin") / "hw2"
    r = cnnlab("handin", "--out", out, "--budget", "quick", "--data", SHARED, "--quiet", timeout=1800)
    return out, r


class Page(HTMLParser):
    """Collects links, images, ids and the tag structure of a page."""

    VOID = {"meta", "link", "img", "br", "hr", "input", "source", "col", "area", "base", "wbr", "embed", "track"}

    def __init__(self):
        super().__init__()
        self.links, self.srcs, self.ids, self.stack, self.unclosed = [], [], set(), [], []
        self.tags = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if a.get("src"):
            self.srcs.append(a["src"])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    assert {"html", "head", "body"} <= page.tags, f"{path}: not a whole HTML page"
    outside = [u for u in page.links + page.srcs if re.match(r"(?i)(https?:)?//", u)]
    assert not outside, f"{path} loads or links outside the page: {outside[:3]}"
    return page


def markdown_outputs(nb) -> str:
    return "\n".join(o.data.get("text/markdown", "") for c in nb.cells for o in c.get("outputs", [])
                     if o.output_type == "display_data")


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_handin_quick_builds_everything_the_index_lists(handin):
    out, r = handin
    assert r.stdout.strip() == f"hand-in: {out / 'index.html'}"
    index = parse(out / "index.html")
    local = sorted({h.split("#")[0] for h in index.links if not h.startswith("#")})
    state = json.loads((out / "handin.json").read_text())
    assert set(local) == set(state["files"]) - {"index.html"}, "the index must list every file of the hand-in"
    expected = {"theory/theory.md", "theory/theory.html", "theory/theory.fa.md", "theory/theory.fa.html",
                "models/p1_emnist_best.h5", "models/p2_fer2013_best.h5", "models/p3_cifar10_student_best.h5",
                "webcam/README.html"}
    expected |= {f"notebooks/{n}.{ext}" for n in NOTEBOOK_PARTS for ext in ("ipynb", "html")}
    assert expected <= set(local)
    for href in local:
        path = out / href
        assert path.is_file() and path.stat().st_size > 0, href
        if path.suffix == ".html":
            page = parse(path)
            for link in page.links:  # links between the hand-in's pages land on a file and an anchor that exist
                target, _, anchor = link.partition("#")
                if target and not re.match(r"(?i)[a-z]+:", target):
                    assert (path.parent / target).exists(), f"{href} links to a missing {link}"
        elif path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            nbformat.validate(nb)
            errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
            assert not errors and all(c.execution_count for c in nb.cells if c.cell_type == "code"), href
        elif path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".png":
            from PIL import Image
            Image.open(path).verify()
    for href in index.links:  # anchors into the theory pages and notebooks exist there
        target, _, anchor = href.partition("#")
        if anchor:
            assert anchor in parse(out / target).ids, href
    steps = re.findall(r"^\[(\d)/(\d)\] (.+): done in \d+ s$", r.stderr, flags=re.M)
    assert len(steps) == 6 and {total for _, total, _ in steps} == {"7"}, r.stderr  # progress, step by step


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_h5_models_open_in_keras_and_load_back_into_the_predictions_of_their_runs(handin):
    import os
    os.environ.setdefault("KERAS_BACKEND", "torch")
    os.environ.setdefault("KERAS_TORCH_DEVICE", "cpu")
    import h5py
    import keras
    out, _ = handin
    rows = json.loads((out / "models" / "models.json").read_text())
    assert [r["question"] for r in rows] == ["P1", "P2", "P3"]
    data = {"emnist": EMNIST, "fer2013": FER, "cifar10": CIFAR}
    from cnnlab import data as datasets
    for r in rows:
        path = out / "models" / r["file"]
        loaded, meta = load_h5(path)
        source, ckpt = load_model(r["source"])
        assert meta["classes"] == list(ckpt["classes"]) and meta["arch"] == ckpt["arch"]
        images = datasets.load(r["dataset"], data[r["dataset"]], "test").images[:32]
        with torch.inference_mode():
            want = source(images.float() / 255).softmax(1)
            assert torch.equal(loaded(images.float() / 255).softmax(1), want), r["file"]
        # the file as a grader opens it: a Keras model, pixel values 0-255 (N, H, W, C) in, probabilities out
        got = keras.models.load_model(str(path)).predict(images.permute(0, 2, 3, 1).float().numpy(), verbose=0)
        assert (got.argmax(1) == want.numpy().argmax(1)).mean() >= 0.995 and abs(got - want.numpy()).max() <= 1e-3
        with h5py.File(path, "r") as f:
            assert json.loads(f.attrs["class_names"]) == list(ckpt["classes"])
        assert r["load_check"]["agreement"] >= 0.995 and r["load_check"]["roundtrip_max_abs_diff"] == 0.0
        assert f'keras.models.load_model("models/{r["file"]}")' in (out / "index.html").read_text()
        assert f'keras.models.load_model("{r["file"]}")' in (out / "models" / "README.md").read_text()
    note = (out / "webcam" / "README.md").read_text()
    assert "cnnlab live --camera 0 --out video.mp4 --duration 60" in note  # no video here: how to record one


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_theory_answers_in_the_handin(handin):
    out, _ = handin
    for lang in answers.LANGS:  # budget quick uses the stored measurements: exactly the committed documents
        name = answers.DOC_NAMES[lang]
        assert (out / "theory" / name).read_text() == (ROOT / "docs" / name).read_text()
    en, fa = parse(out / "theory" / "theory.html"), parse(out / "theory" / "theory.fa.html")
    for part in ("q1a", "q1b", "q1c", "q1d", "q1e", "q2a", "q2b", "q2c", "q3", "q4a", "q4b", "q4c", "q4d", "q4e"):
        assert part in en.ids and part in fa.ids
    assert 'dir="rtl"' in (out / "theory" / "theory.fa.html").read_text()
    assert sum(s.startswith("data:image/png;base64,") for s in en.srcs) >= 5  # figures embedded


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_notebooks_answer_every_part_in_order(handin):
    out, _ = handin
    for name, parts in NOTEBOOK_PARTS.items():
        nb = nbformat.read(out / "notebooks" / f"{name}.ipynb", as_version=4)
        headings = [line[3:] for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                    if line.startswith("## P")]
        assert [h[:6] for h in headings] == parts, name
        for part in parts:  # each part quotes the assignment's request right under its heading
            cell = next(c for c in nb.cells if c.cell_type == "markdown" and f"## {part}" in c.source)
            assert "> **Assignment:**" in cell.source, part
        streams = "\n".join(o.text for c in nb.cells for o in c.get("outputs", []) if o.output_type == "stream")
        assert "BUDGET=quick" in streams and f"DATA={SHARED.resolve()}" in streams
        html = (out / "notebooks" / f"{name}.html").read_text()
        assert html.count("data:image/png;base64,") >= 3


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_discussions_follow_the_measured_numbers(handin):
    out, _ = handin
    work = out / "work" / "quick"
    nb1 = markdown_outputs(nbformat.read(out / "notebooks" / "1_emnist_mlp_vs_cnn.ipynb", as_version=4))
    m = {k: json.loads((work / "1_emnist" / k / "metrics.json").read_text()) for k in ("mlp", "cnn", "cnn-factorized")}
    for k in m:  # the tables show the runs' own numbers, and the discussion repeats them
        assert f"| {k} | {m[k]['params_total']:,} | {m[k]['accuracy']:.4f} |" in nb1
    verdict = discuss.verdict(m["cnn"]["accuracy"], m["mlp"]["accuracy"], m["cnn"]["num_samples"])
    sentence = {"better": "CNN is", "worse": "MLP is", "tie": "as accurate as each other"}[verdict]
    assert sentence in nb1 and f"{m['cnn']['accuracy']:.4f}" in nb1
    nb3 = markdown_outputs(nbformat.read(out / "notebooks" / "3_distillation_cifar10.ipynb", as_version=4))
    d = work / "3_distillation"
    probe = json.loads((d / "teacher-probe" / "metrics.json").read_text())
    alone = json.loads((d / "student-no-teacher" / "metrics.json").read_text())
    best_run = Path(json.loads((d / "sweep" / "sweep.json").read_text())["best"]["run"])
    kd = json.loads((best_run / "metrics.json").read_text())
    assert f"test **accuracy {probe['accuracy']:.4f}**" in nb3
    params = f"{alone['params_total']:,} ({alone['params_trainable']:,})"
    assert f"| student, no teacher | cnn | {params} | {alone['accuracy']:.4f} |" in nb3
    verdict = discuss.verdict(kd["accuracy"], alone["accuracy"], alone["num_samples"])
    sentence = {"better": "points more accurate", "worse": "points less accurate", "tie": "as accurate as each other"}
    assert sentence[verdict] in nb3 and [v for k, v in sentence.items() if k != verdict][0] not in nb3
    nb2 = markdown_outputs(nbformat.read(out / "notebooks" / "2_fer2013.ipynb", as_version=4))
    assert "**First layer.**" in nb2 and "**What the network relies on.**" in nb2 and "**Answer.**" in nb2


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_a_second_call_continues_instead_of_starting_again(handin):
    out, _ = handin
    h5 = out / "models" / "p1_emnist_best.h5"
    state = json.loads((out / "handin.json").read_text())["steps"]
    h5.unlink()  # a step whose file is gone runs again; the others are kept
    r = cnnlab("handin", "--out", out, "--budget", "quick", "--data", SHARED, "--quiet", timeout=600)
    kept = re.findall(r"^\[\d/7\] (.+): done earlier, kept$", r.stderr, flags=re.M)
    assert len(kept) == 5 and re.search(r"^\[5/7\] the best model .*: done in", r.stderr, flags=re.M), r.stderr
    again = json.loads((out / "handin.json").read_text())["steps"]
    assert h5.exists() and again["models"]["finished"] >= state["models"]["finished"]
    assert {k: v["finished"] for k, v in again.items() if k != "models"} == \
        {k: v["finished"] for k, v in state.items() if k != "models"}
    # a video given later: notebook 2 runs again (it reports what the network saw in the video), the webcam step
    # copies it; the other notebooks are kept
    from cnnlab.live import scene
    faces, _ = scene.fer_faces(FER, 2)
    video = out.parent / "me.mp4"
    assert scene.write_video(video, (f for f, _ in scene.frames(faces, 12)), fps=6.0) == 12
    r = cnnlab("handin", "--out", out, "--budget", "quick", "--data", SHARED, "--video", video, "--quiet", timeout=900)
    kept = re.findall(r"^\[\d/7\] (.+): done earlier, kept$", r.stderr, flags=re.M)
    assert [k.split(":")[0] for k in kept] == ["theory answers, English and Persian (Markdown and HTML)", "P1", "P3",
                                              "the best model of each practical question as .h5"], r.stderr
    assert (out / "webcam" / "video.mp4").read_bytes() == video.read_bytes()
    assert (out / "webcam" / "video_annotated.mp4").stat().st_size > 0
    assert 'href="webcam/video.mp4"' in (out / "index.html").read_text()
    nb2 = markdown_outputs(nbformat.read(out / "notebooks" / "2_fer2013.ipynb", as_version=4))
    assert f"The video `{video}` (12 frames" in nb2
    other = cnnlab("handin", "--out", out, "--budget", "cpu", check=False)
    assert other.returncode == 2 and "built with --budget quick" in other.stderr
    bad = cnnlab("handin", "--out", out.parent / "other", "--budget", "quick", "--video", out / "index.html",
                 check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --video")


def test_a_finished_run_is_reused_only_with_the_same_settings(tmp_path, emnist_sample):
    from cnnlab.engine.config import TrainConfig
    from cnnlab.errors import UsageError
    from cnnlab.experiments import defaults
    cfg = TrainConfig.from_dict({**TrainConfig().to_dict(), **defaults("emnist"), "dataset": "emnist",
                                 "data": str(emnist_sample), "out": str(tmp_path / "run"), "model": "mlp", "epochs": 1,
                                 "limit_train": 300, "limit_test": 100, "batch_size": 64, "quiet": True,
                                 "device": "cpu"})
    first = train_or_reuse(cfg)
    stamp = (tmp_path / "run" / "best.pt").stat().st_mtime_ns
    said = []
    assert train_or_reuse(cfg, say=said.append) == first and said == [f"reusing the finished run {cfg.out}"]
    assert (tmp_path / "run" / "best.pt").stat().st_mtime_ns == stamp  # nothing trained again
    other = TrainConfig(**{**cfg.to_dict(), "lr": 0.01})
    assert differences(tmp_path / "run", other) == [f"lr: {cfg.lr!r} there, 0.01 here"]
    with pytest.raises(UsageError, match="made with other settings"):
        train_or_reuse(other)


def test_discussion_sentences_follow_the_numbers():
    """The same comparison with the numbers swapped says the opposite; a difference within the noise is a tie."""
    mlp = {"params_total": 441116, "accuracy": 0.80, "recall_macro": 0.70, "images_per_second": 9000.0,
           "num_samples": 15820}
    cnn = {"params_total": 440990, "accuracy": 0.86, "recall_macro": 0.72, "images_per_second": 500.0,
           "num_samples": 15820}
    text = discuss.p1_compare(mlp, cnn, 0.85, 0.88, 5000)
    assert "**CNN is 6.0 points more accurate**" in text and "MLP is" not in text
    swapped = discuss.p1_compare({**mlp, "accuracy": 0.86}, {**cnn, "accuracy": 0.80}, 0.85, 0.88, 5000)
    assert "**MLP is 6.0 points more accurate**" in swapped and "CNN is" not in swapped
    tie = discuss.p1_compare({**mlp, "num_samples": 100}, {**cnn, "num_samples": 100}, 0.85, 0.88, 5000)
    assert "as accurate as each other" in tie  # 6 points on 100 test images is within the noise
    alone = {"accuracy": 0.70, "num_samples": 10000, "params_total": 2_236_682}
    teacher = {"accuracy": 0.85, "params_total": 23_528_522}
    assert "points more accurate" in discuss.p3_no_teacher({"accuracy": 0.74}, alone, teacher, 4.0)
    assert "points less accurate" in discuss.p3_no_teacher({"accuracy": 0.66}, alone, teacher, 4.0)
    assert "as accurate as each other" in discuss.p3_no_teacher({"accuracy": 0.705}, alone, teacher, 4.0)
    runs = [{"alpha": 0.5, "tau": 4.0, "val_accuracy": 0.71, "accuracy": 0.69},
            {"alpha": 0.9, "tau": 4.0, "val_accuracy": 0.70, "accuracy": 0.72}]
    sweep = {"runs": runs, "epochs": 2, "chosen_by": "val_accuracy", "best": runs[0]}
    text = discuss.p3_sweep(sweep, 10000)  # the best by validation, though its test accuracy is lower
    assert "best by validation accuracy is α = 0.5, τ = 4 (validation accuracy 0.7100, test accuracy 0.6900" in text
    assert "chosen on test" in discuss.p3_sweep({**sweep, "chosen_by": "accuracy", "best": runs[1]}, 10000)
    assert set(discuss.snippets()) >= {"p1e.cnn_better", "p1e.mlp_better", "p1e.tie", "p3c.helps", "p3c.hurts",
                                       "p3c.tie"}


def test_webcam_table_summary_and_discussion():
    """P2 (c) with a video: the per-face summary of the `live --csv` table and the sentence written from it."""
    import pandas as pd

    from cnnlab.notebook_helpers import webcam
    from cnnlab.live.table import COLUMNS
    classes = ["angry", "happy", "sad"]
    labels = ["happy"] * 6 + ["sad"] * 3 + ["happy"]  # face 0: two changes of label in 1 s
    rows = [(i, i / 10, 0, 10, 10, 50, 50, lab, 0.1, 0.8 if lab == "happy" else 0.1, 0.8 if lab == "sad" else 0.1)
            for i, lab in enumerate(labels)]
    rows += [(i, i / 10, 1, 200, 10, 50, 50, "angry", 0.9, 0.05, 0.05) for i in range(3)]
    table = pd.DataFrame(rows, columns=COLUMNS + classes)
    header, body = webcam.summary_rows(table)
    assert header == ["face", "frames", "seconds", *classes]
    assert body[0] == ["0", "10", "0.0–0.9", "0%", "70%", "30%"] and body[1][:2] == ["1", "3"]
    faces = webcam.describe_table(table)
    assert faces["tracks"] == 2 and faces["face"] == 0 and faces["frames"] == 10
    assert faces["shares"] == {"happy": 0.7, "sad": 0.3} and round(faces["changes_per_minute"]) == 133
    video = {"file": "me.mp4", "frames": 10, "seconds": 1.0, "with_face": 1.0, "labels": {"happy": 0.5}}
    text = discuss.p2_live(video, {}, webcam.RECORD_COMMAND, faces)
    assert "The video `me.mp4` (10 frames" in text and "2 face track(s)" in text
    assert "face 0, was in 10 frames over 0.9 s" in text and "*happy* 70%, *sad* 30%" in text
    assert "changed 133 times per minute" in text
    assert "never changed" in discuss.p2_live(video, {}, webcam.RECORD_COMMAND, {**faces, "changes_per_minute": 0.0})
    assert webcam.describe_table(table.iloc[:0]) == {"tracks": 0}
