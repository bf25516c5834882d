"""The notebooks' discussions, written from the measured numbers: each function compares the numbers it is given
and picks the sentences of templates/discussion.md that they support (a tie when a difference is within the noise
of the test set), so the text cannot contradict the table above it."""

from __future__ import annotations

import math

from cnnlab.page.snippets import read


def snippets() -> dict[str, str]:
    return read("cnnlab.notebook_helpers", "discussion.md")


def say(key: str, **values) -> str:
    return snippets()[key].format(**values)


def noise(acc_a: float, acc_b: float, n: int) -> float:
    """Two standard errors of the difference of two accuracies measured on n test images (in points)."""
    p = (acc_a + acc_b) / 2
    return 100 * 2 * math.sqrt(2 * max(p * (1 - p), 1e-12) / max(n, 1))


def verdict(a: float, b: float, n: int) -> str:
    """'better' when a beats b by more than the noise, 'worse' when it loses by more, else 'tie'."""
    d = 100 * (a - b)
    return "tie" if abs(d) <= noise(a, b, n) else "better" if d > 0 else "worse"


def paragraphs(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def caveat(budget: str) -> str:
    return say("caveat.quick") if budget == "quick" else ""


# ---------------------------------------------------------------------------------------------------------------
# P1

def p1_mlp(m: dict, hidden: list[int]) -> str:
    return say("p1b.result", params=m["params_total"], hidden=" → ".join(map(str, hidden)) or "none",
               best_epoch=m["best_epoch"], n=m["num_samples"], acc=m["accuracy"], prec=m["precision_macro"],
               rec=m["recall_macro"])


def p1_regularisation(rows: dict[str, dict], n: int) -> str:
    """rows: {setting: {train_acc, test_acc, gap, norm}} with at least 'none' and 'dropout+L2'."""
    a, b = rows["none"], rows["dropout+L2"]
    values = dict(gap_none=a["gap"], gap_both=b["gap"], test_none=a["test_acc"], test_both=b["test_acc"])
    if a["gap"] <= noise(a["train_acc"], a["test_acc"], n) / 100:
        key = "p1b.reg.no_gap"
    elif verdict(b["test_acc"], a["test_acc"], n) == "better" and b["gap"] < a["gap"]:
        key = "p1b.reg.helps"
    else:
        key = "p1b.reg.gap_only"
    text = say(key, **values)
    if "L2" in rows and rows["L2"]["norm"] < a["norm"]:
        text += " " + say("p1b.reg.norm", norm_none=a["norm"], norm_l2=rows["L2"]["norm"])
    return text


def p1_tensorboard(name: str, tags: dict) -> str:
    """tags: {tag: [(step, value)]} read back from TensorBoard."""
    last = {tag: points[-1][1] for tag, points in tags.items() if points}
    return say("p1c.result", name=name, train_loss=last["loss/train"], test_loss=last["loss/test"],
               train_acc=last["accuracy/train"], test_acc=last["accuracy/test"])


def p1_cnn(m: dict) -> str:
    return say("p1d.result", params=m["params_total"], best_epoch=m["best_epoch"], n=m["num_samples"],
               acc=m["accuracy"], prec=m["precision_macro"], rec=m["recall_macro"])


def p1_compare(mlp: dict, cnn: dict, mlp_train_acc: float, cnn_train_acc: float, k: int) -> str:
    n = cnn["num_samples"]
    v = verdict(cnn["accuracy"], mlp["accuracy"], n)
    key = {"better": "p1e.cnn_better", "worse": "p1e.mlp_better", "tie": "p1e.tie"}[v]
    first = say(key, mlp_params=mlp["params_total"], cnn_params=cnn["params_total"],
                diff=abs(100 * (cnn["accuracy"] - mlp["accuracy"])), cnn_acc=cnn["accuracy"], mlp_acc=mlp["accuracy"],
                cnn_rec=cnn["recall_macro"], mlp_rec=mlp["recall_macro"])
    gap = say("p1e.gap", k=k, mlp_gap=mlp_train_acc - mlp["accuracy"], cnn_gap=cnn_train_acc - cnn["accuracy"],
              speed_ratio=mlp["images_per_second"] / max(cnn["images_per_second"], 1e-9),
              mlp_ips=mlp["images_per_second"], cnn_ips=cnn["images_per_second"])
    gap_to_recall = max(mlp["accuracy"] - mlp["recall_macro"], cnn["accuracy"] - cnn["recall_macro"])
    rare = say("p1e.rare") if gap_to_recall > 0.02 else ""
    return paragraphs(first, say("noise", noise=noise(cnn["accuracy"], mlp["accuracy"], n), n=n), gap, rare)


def p1_factorized(cnn: dict, fac: dict, cnn_conv: int, fac_conv: int, cnn_ips: float, fac_ips: float) -> str:
    n = fac["num_samples"]
    params = say("p1f.params", cnn_conv=cnn_conv, fac_conv=fac_conv, conv_saved=100 * (1 - fac_conv / cnn_conv),
                 cnn_params=cnn["params_total"], fac_params=fac["params_total"],
                 model_saved=100 * (1 - fac["params_total"] / cnn["params_total"]))
    v = verdict(fac["accuracy"], cnn["accuracy"], n)
    acc = say({"better": "p1f.acc_better", "worse": "p1f.acc_worse", "tie": "p1f.acc_tie"}[v],
              fac_acc=fac["accuracy"], cnn_acc=cnn["accuracy"], diff=abs(100 * (fac["accuracy"] - cnn["accuracy"])))
    ratio = fac_ips / max(cnn_ips, 1e-9)
    word = (f"{ratio:.2f}× as fast" if ratio >= 1.1 else f"{1 / ratio:.2f}× slower" if ratio <= 0.9
            else "about as fast")
    return paragraphs(params, acc, say("p1f.speed", fac_ips=fac_ips, cnn_ips=cnn_ips, speed_word=word))


# ---------------------------------------------------------------------------------------------------------------
# P2

def p2_metrics(name: str, arch: str, m: dict, counts: dict[str, int], confusions: list) -> str:
    """m: classification metrics (with per_class); counts: training images per class; confusions: top
    (true, predicted, count, share) tuples."""
    parts = [say("p2a.result", model=name, arch=arch, params=m["params_total"], n=m["num_samples"], acc=m["accuracy"],
                 prec=m["precision_macro"], rec=m["recall_macro"], f1=m["f1_macro"])]
    recall = {c: v["recall"] for c, v in m["per_class"].items() if v.get("support")}
    best, worst = max(recall, key=recall.get), min(recall, key=recall.get)
    if confusions:
        t, p, count, share = confusions[0]
        parts.append(say("p2a.classes", best=best, best_recall=recall[best], worst=worst, worst_recall=recall[worst],
                         true=t, pred=p, count=count, share=share))
    total = sum(counts.values())
    rare = min(counts, key=counts.get)
    if rare in recall and counts[rare] / total < 0.05:
        parts.append(say("p2a.rare", rare=rare, rare_share=counts[rare] / total, rare_recall=recall[rare]))
    return paragraphs(*parts)


def p2_choice(chosen: str, chosen_val: float, other: str, other_val: float) -> str:
    return say("p2a.choice", chosen=chosen, chosen_val=chosen_val, other=other, other_val=other_val)


def p2_filters(first: dict, study: dict, occ: dict, classes: list[str]) -> str:
    k = first["kernel"][0]
    c, o = first["counts"], first["edge_orientations"]
    parts = [say("p2b.filters", total=first["total"], k=k, edge=c["edge"], horizontal=o["horizontal"],
                 vertical=o["vertical"], diagonal=o["diagonal"], smoothing=c["smoothing"], spot=c["spot/line"],
                 edge_share=first["mean_shares"]["edge"], edge_chance=first["chance_shares"]["edge"])]
    specific = c["edge"] >= first["total"] / 2
    parts[0] += " " + (say("p2b.filters_specific") if specific else say("p2b.filters_generic", k=k))
    by_class = "; ".join(f"*{r['class']}* → channel {r['channel']} ({r['region']}, ×{r['ratio']:.2f})"
                         for r in study["by_class"])
    parts.append(say("p2b.channels", layer=study["layer"], side=study["shape"][1], active=study["active"],
                     eyes=study["regions"]["eyes"], mouth=study["regions"]["mouth"],
                     elsewhere=study["regions"]["elsewhere"], by_class=by_class))
    base = occ["none"]
    drops = {band: {cl: (base["recall"][cl] or 0) - (occ[band]["recall"][cl] or 0) for cl in classes}
             for band in ("mouth", "eyes")}
    mouth_class = max(drops["mouth"], key=drops["mouth"].get)
    eyes_class = max(drops["eyes"], key=drops["eyes"].get)
    parts.append(say("p2b.occlusion", acc=base["accuracy"], acc_mouth=occ["mouth"]["accuracy"],
                     acc_eyes=occ["eyes"]["accuracy"], mouth_class=mouth_class,
                     mouth_before=base["recall"][mouth_class], mouth_after=occ["mouth"]["recall"][mouth_class],
                     eyes_class=eyes_class, eyes_before=base["recall"][eyes_class],
                     eyes_after=occ["eyes"]["recall"][eyes_class]))
    n = study["faces"]
    max_drop = 100 * max(base["accuracy"] - occ["mouth"]["accuracy"], base["accuracy"] - occ["eyes"]["accuracy"])
    strongest = max((r["ratio"] for r in study["by_class"]), default=1.0)
    part_matters = max_drop > noise(base["accuracy"], base["accuracy"], n) and strongest > 1.1
    parts.append(say("p2b.answer_yes", mouth_class=mouth_class, eyes_class=eyes_class) if part_matters
                 else say("p2b.answer_weak", max_drop=max(max_drop, 0.0), ratio=strongest))
    return paragraphs(*parts)


def p2_live(video: dict | None, scene: dict, command: str, faces: dict | None = None) -> str:
    """`video`: webcam.summarize_log; `faces`: webcam.describe_table of the video's table (when there is one)."""
    if video:
        labels = ", ".join(f"*{k}* ({v:.0%})" for k, v in video["labels"].items())
        text = say("p2c.video", video=video["file"], frames=video["frames"], seconds=video["seconds"],
                   with_face=video["with_face"], labels=labels or "none")
        if faces and faces.get("tracks"):
            shares = ", ".join(f"*{k}* {v:.0%}" for k, v in list(faces["shares"].items())[:3])
            rate = faces["changes_per_minute"]
            changes = say("p2c.changes", changes=rate) if rate > 0 else say("p2c.steady")
            text = paragraphs(text, say("p2c.video_table", tracks=faces["tracks"], face=faces["face"],
                                        frames=faces["frames"], seconds=faces["seconds"], shares=shares,
                                        changes=changes))
        return text
    return say("p2c.no_video", command=command, faces=scene["faces"], found=scene["found"], right=scene["right"])


# ---------------------------------------------------------------------------------------------------------------
# P3

def p3_probe(m: dict, arch: str, weights: str, size: int, why_random: str | None) -> str:
    text = say("p3a.result", arch=arch, weights="ImageNet" if weights == "imagenet" else weights,
               trained=m["params_trainable"], params=m["params_total"], size=size, acc=m["accuracy"],
               prec=m["precision_macro"], rec=m["recall_macro"])
    return paragraphs(text, say("p3a.random", why=why_random) if why_random else "")


def p3_sweep(sweep: dict, n: int) -> str:
    accs = [r["accuracy"] for r in sweep["runs"]]
    best = sweep["best"]
    spread = 100 * (max(accs) - min(accs))
    note = say("p3b.noise_note", n=n) if spread <= noise(max(accs), min(accs), n) and len(accs) > 1 else ""
    on_val = sweep.get("chosen_by") == "val_accuracy"
    return say("p3b.sweep" if on_val else "p3b.sweep_no_val", runs=len(accs), epochs=sweep["epochs"],
               alpha=best["alpha"], tau=best["tau"], val=best.get("val_accuracy"), acc=best["accuracy"],
               spread=spread, noise_note=note)


def p3_final(alpha: float, tau: float, epochs: int, m: dict) -> str:
    return say("p3b.final", alpha=alpha, tau=tau, epochs=epochs, acc=m["accuracy"], f1=m["f1_macro"])


def p3_no_teacher(kd: dict, alone: dict, teacher: dict, tau: float) -> str:
    n = alone["num_samples"]
    v = verdict(kd["accuracy"], alone["accuracy"], n)
    text = say({"better": "p3c.helps", "worse": "p3c.hurts", "tie": "p3c.tie"}[v],
               diff=abs(100 * (kd["accuracy"] - alone["accuracy"])),
               kd=kd["accuracy"], alone=alone["accuracy"], teacher=teacher["accuracy"], tau=tau)
    size = say("p3c.size", student=alone["params_total"], teacher_params=teacher["params_total"],
               ratio=teacher["params_total"] / max(alone["params_total"], 1))
    return paragraphs(text, size, say("noise", noise=noise(kd["accuracy"], alone["accuracy"], n), n=n))


def p3_finetune(probe: dict, ft: dict, epochs: int) -> str:
    n = ft["num_samples"]
    v = verdict(ft["accuracy"], probe["accuracy"], n)
    return say({"better": "p3d.better", "worse": "p3d.worse", "tie": "p3d.tie"}[v],
               ft_trained=ft["params_trainable"], probe_trained=probe["params_trainable"],
               diff=abs(100 * (ft["accuracy"] - probe["accuracy"])), ft=ft["accuracy"], probe=probe["accuracy"],
               ft_seconds=ft["train_seconds"], probe_seconds=probe["train_seconds"], epochs=epochs)
