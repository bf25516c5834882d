"""The distillation loss of the assignment (Hinton, Vinyals and Dean, 2015):

    L = α·H(y, σ(z_s; T=1)) + (1 − α)·H(σ(z_t; τ), σ(z_s; τ))

H(p, q) = −Σ_k p_k log q_k is the cross-entropy, σ(z; τ) = softmax(z / τ). The soft term is the cross-entropy to
the teacher's softened distribution; it differs from KL(p_t || p_s) only by the teacher's entropy, a constant
for the student, so both give the same gradients. Its gradient with respect to z_s is (p_s − p_t) / τ, i.e.
about (z_s − z_t) / (K·τ²) for large τ: the soft term's pull shrinks like 1/τ². `t2_scale=True` multiplies the
soft term by τ² (as Hinton et al. recommend), so that its gradients keep their size whatever τ is, and
α keeps meaning the same balance between hard and soft targets when τ changes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from cnnlab.errors import UsageError


def check(alpha: float, tau: float) -> None:
    if not 0.0 <= alpha <= 1.0:
        raise UsageError(f"--alpha must be in [0, 1] (the weight of the hard-label term), got {alpha}")
    if not tau > 0:
        raise UsageError(f"--tau must be positive (the softmax temperature), got {tau}")


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor | None, targets: torch.Tensor, alpha: float,
            tau: float, t2_scale: bool = False, weight: torch.Tensor | None = None) -> torch.Tensor:
    """The batch mean of α·H(y, σ(z_s)) + (1 − α)·H(σ(z_t/τ), σ(z_s/τ)) (× τ² on the soft term with t2_scale).
    `teacher_logits` may be None when α = 1 (no soft term). `weight` (per class) weighs the hard term as the
    recipe's --class-weights weigh the plain cross-entropy."""
    check(alpha, tau)
    z_s = student_logits.float()
    loss = alpha * F.cross_entropy(z_s, targets, weight=weight) if alpha > 0 else z_s.new_zeros(())
    if alpha == 1:
        return loss
    if teacher_logits is None:
        raise ValueError("kd_loss: teacher_logits are needed when alpha < 1")
    p_t = F.softmax(teacher_logits.float() / tau, dim=1)
    soft = -(p_t * F.log_softmax(z_s / tau, dim=1)).sum(1).mean()
    if t2_scale:
        soft = soft * tau ** 2
    return loss + (1 - alpha) * soft
