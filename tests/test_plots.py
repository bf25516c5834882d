"""cnnlab.plots, readable figures (issue 11): nothing overlaps, a one-epoch run has a sensible x axis."""

import numpy as np
import pytest

from cnnlab.data.fer2013 import CLASSES


@pytest.fixture
def kept_figures(monkeypatch):
    """plots.save keeps the figure (drawn) instead of writing and closing it."""
    from cnnlab import plots
    figures = []

    def keep(fig, path):
        fig.canvas.draw()
        figures.append(fig)
        return path
    monkeypatch.setattr(plots, "save", keep)
    yield figures
    import matplotlib.pyplot as plt
    for f in figures:
        plt.close(f)


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("names", [CLASSES, ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                             "ship", "truck"]])
def test_sample_grid_title_clears_the_labels(kept_figures, tmp_path, names):
    from cnnlab.plots import image_grid
    image_grid(np.zeros((len(names), 1, 48, 48), dtype=np.uint8), names, tmp_path / "g.png",
               cols=min(16, len(names)), suptitle="fer2013 (train): one sample per class")
    fig = kept_figures[0]
    r = fig.canvas.get_renderer()
    title = fig._suptitle.get_window_extent(r)
    labels = [ax.title.get_window_extent(r) for ax in fig.axes if ax.get_title()]
    assert len(labels) == len(names)
    assert not any(overlaps(title, lab) for lab in labels)
    assert not any(overlaps(a, b) for i, a in enumerate(labels) for b in labels[i + 1:])


def test_one_epoch_curves_have_whole_epochs(kept_figures, tmp_path):
    from cnnlab.plots import curves
    curves([{"epoch": 1, "train_loss": 2.0, "train_acc": 0.3, "val_loss": 2.1, "val_acc": 0.28, "test_loss": 2.2,
             "test_acc": 0.27}], tmp_path / "c.png")
    for ax in kept_figures[0].axes:
        lo, hi = ax.get_xlim()
        assert hi - lo >= 2
        assert all(float(t).is_integer() for t in ax.get_xticks())


def test_confusion_matrix_labels_do_not_run_together(kept_figures, tmp_path):
    from cnnlab.plots import confusion
    confusion(np.eye(7, dtype=int) * 5 + 1, CLASSES, tmp_path / "cm.png")
    r = kept_figures[0].canvas.get_renderer()
    for ax in kept_figures[0].axes[:1]:
        boxes = [t.get_window_extent(r) for t in ax.get_xticklabels()]
        assert not any(overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
