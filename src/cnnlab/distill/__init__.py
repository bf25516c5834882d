"""Knowledge distillation on CIFAR-10: a ResNet teacher (linear probe or fine-tuned) taught to a MobileNetV2 student.

    teacher.py  linear probe on frozen features, or fine-tuning through the engine with pretrained weights
    loss.py     kd_loss: the assignment's loss, alpha·H(y, σ(z_s)) + (1-alpha)·H(σ(z_t/τ), σ(z_s/τ))
    student.py  the student's training: the engine with a loss hook fed by the teacher's (cached) logits
    sweep.py    a grid of alpha and tau: sweep.json, sweep.md, heatmap
    compare.py  teacher (probe, fine-tuned), best student, student without teacher: one table
    cli.py      `cnnlab distill ...`

`kd_loss` is imported lazily, so `cnnlab --help` does not import torch.
"""

__all__ = ["kd_loss"]


def __getattr__(name):
    if name == "kd_loss":
        from cnnlab.distill.loss import kd_loss
        return kd_loss
    raise AttributeError(f"module 'cnnlab.distill' has no attribute {name!r}")
