"""Write docs/theory.md and docs/theory.fa.md (and docs/figures/theory/*.png) from cnnlab.theory.

Every number in the two documents is computed here by the package's functions; the text around them is the
templates at the end of this file (English and Persian, the same content). Two kinds of numbers are measurements
rather than exact computations: the autoencoder's training (a minute or two on a CPU) and the activation timings.
`--measure` measures them again and stores them in docs/figures/theory/measured.json (the autoencoder figures are
written by the same run); without it the script reads that file, so a plain run reproduces the committed
documents byte for byte (tests/test_theory_docs.py checks this).

    python scripts/make_theory_docs.py              # documents + deterministic figures from measured.json
    python scripts/make_theory_docs.py --measure    # also retrain the autoencoder and time the activations
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # works from a checkout without `pip install -e .`

from cnnlab.theory import activations, autoencoder, conv1d, demos, layers, losses  # noqa: E402
from cnnlab.theory import receptive_field as rf  # noqa: E402

FIGURES = "figures/theory"
CLASSIC = "CONV3-8 ReLU POOL-2 CONV3-16 ReLU POOL-2 FLATTEN FC-10"
CLASSIC_BN = "CONV3-8 BATCHNORM ReLU POOL-2 CONV3-16 BATCHNORM ReLU POOL-2 FLATTEN FC-10"
CLASSIC_BN_FC = "CONV3-8 BATCHNORM ReLU POOL-2 CONV3-16 BATCHNORM ReLU POOL-2 FLATTEN FC-64 BATCHNORM ReLU DROPOUT FC-10"
RF_CASES = [  # layers, kernel, dilation, stride, padding, at
    (3, 3, 1, 1, 0, (2, 3)), (3, 3, 2, 1, 0, (2, 3)), (3, 3, [1, 2, 5], 1, 0, (2, 3)), (2, 5, 3, 1, 0, (2, 3)),
    (3, 3, 1, 2, 0, (2, 3)), (3, 3, 2, 2, 1, (2, 3)),
]
CONV_CASES = [  # input N, kernel, dilation, filters, stride, padding, channels
    (32, 3, 1, 8, 1, 0, 3), (32, 3, 2, 16, 1, 0, 3), (32, 3, 2, 16, 1, 2, 3), (32, 5, 1, 16, 2, 2, 3),
    (28, 3, 3, 32, 1, 0, 1), (224, 7, 1, 64, 2, 3, 3),
]
BASE_TRUE = [12.0, 15.0, 20.0, 22.0, 30.0, 35.0, 41.0]
BASE_ERR = [1.2, -0.8, 2.1, -1.5, 0.6, -2.4, 1.0]


def loss_scenarios() -> list[tuple[str, list[float], list[float]]]:
    """(key, y_true, y_pred): the same errors under a change of units, an offset, outliers and values near 0."""
    t, e = BASE_TRUE, BASE_ERR
    outlier_pred = [p + (20.0 if i == 3 else 0.0) for i, p in enumerate(a + b for a, b in zip(t, e))]
    extreme_true = t[:-1] + [200.0]
    near_zero = [v - 11.9 for v in t]
    with_zero = [v - 12.0 for v in t]
    return [
        ("base", t, [a + b for a, b in zip(t, e)]),
        ("units", [1000 * a for a in t], [1000 * (a + b) for a, b in zip(t, e)]),
        ("offset", [a + 273.15 for a in t], [a + b + 273.15 for a, b in zip(t, e)]),
        ("bad_prediction", t, outlier_pred),
        ("extreme_target", extreme_true, [a + b for a, b in zip(extreme_true, e)]),
        ("near_zero", near_zero, [a + b for a, b in zip(near_zero, e)]),
        ("zero", with_zero, [a + b for a, b in zip(with_zero, e)]),
    ]


def compute(seed: int = 0) -> dict:
    """Every deterministic number of the documents."""
    v = {
        "classic": layers.summary(CLASSIC, "32x32x3"),
        "classic_bn": layers.summary(CLASSIC_BN, "32x32x3"),
        "classic_bn_fc": layers.summary(CLASSIC_BN_FC, "32x32x3"),
        "rf": [rf.receptive_field(L, K, D, S, P, at) for L, K, D, S, P, at in RF_CASES],
        "conv": [(case, rf.conv_output(case[0], case[1], case[3], case[2], case[4], case[5], case[6]))
                 for case in CONV_CASES],
        "losses": [(key, t, p, losses.regression_losses(t, p)) for key, t, p in loss_scenarios()],
        "activations": activations.properties(seed),
        "demos": {"dropout": demos.dropout(seed=seed), "batchnorm": demos.batchnorm(seed=seed),
                  "gridding": demos.gridding()},
        "ae_architecture": autoencoder.architecture(),
        "conv1d": conv1d.forward_backward(**conv1d.EXAMPLE),
        "conv1d_diff": conv1d.max_abs_diff(conv1d.forward_backward(**conv1d.EXAMPLE),
                                           conv1d.autograd(**conv1d.EXAMPLE)),
    }
    return v


def measure(docs: Path, data: str | None, seed: int = 0) -> dict:
    """The activation timings (first, on a machine not yet busy with training) and the autoencoder (trained with
    the CLI's defaults)."""
    relative_time = activations.timings()
    train = autoencoder.load_images(data, "train", 8000)
    test = autoencoder.load_images(data, "test", 1000)
    source = f"EMNIST from {data}" if data else "EMNIST sample shipped with cnnlab"
    ae = autoencoder.run(docs / FIGURES, train, test, epochs=3, batch_size=64, noise=0.3, seed=seed, source=source)
    (docs / FIGURES / "autoencoder.pt").unlink()  # weights are not documentation
    (docs / FIGURES / "autoencoder.json").unlink()  # kept in measured.json instead
    import torch
    return {"torch": torch.__version__, "autoencoder": ae, "relative_time": relative_time}


def figures(docs: Path, seed: int = 0) -> None:
    out = docs / FIGURES
    activations.plot(out / "activations.png", seed)
    demos.plot_gridding(out / "gridding.png")
    demos.plot_dropout(out / "dropout.png", seed=seed)


# ---------------------------------------------------------------------------------------------------------------
# Formatting

def num(x, digits: int = 4) -> str:
    if x is None:
        return "—"
    if isinstance(x, int):
        return str(x)
    if abs(x) < 1e-12:  # rounding noise of float64 arithmetic
        return "0"
    s = f"{x:.{digits}g}"
    return "0" if re.fullmatch(r"-?0(\.0*)?", s) else s


def bound(diff: float) -> str:
    """A float64 round-off difference, written so that it does not depend on the BLAS or torch version."""
    return "≤ 1e-12" if diff <= 1e-12 else f"{diff:.1e}"


def vec(xs, digits: int = 4) -> str:
    return "[" + ", ".join(num(x, digits) for x in xs) + "]"


def shape(s) -> str:
    return "×".join(map(str, s))


def md_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def tr(lang: str, text: str) -> str:
    """The package's English labels inside table cells, in the document's language."""
    for en, other in CELLS.get(lang, []):
        text = text.replace(en, other)
    return text


def layer_table(summary: dict, h: dict, lang: str = "en") -> str:
    rows = [["INPUT", shape(summary["input"]), 0, 0, ""]]
    rows += [[f"`{r['layer']}`", shape(r["output"]), r["params"], r["non_trainable"], tr(lang, r["formula"])]
             for r in summary["layers"]]
    rows.append([f"**{h['total']}**", "", f"**{summary['total_params']}**", f"**{summary['total_non_trainable']}**", ""])
    return md_table([h["layer"], h["output"], h["params"], h["non_trainable"], h["how"]], rows)


def fill(lang: str, v: dict, measured: dict) -> dict[str, str]:
    """The template's placeholders as text in one language (tables get translated headers)."""
    h = HEADERS[lang]
    s: dict[str, str] = {"fig": FIGURES, "classic_spec": CLASSIC, "classic_bn_spec": CLASSIC_BN, "classic_bn_fc_spec": CLASSIC_BN_FC}

    # 1. layers
    c, cb, cbf = v["classic"], v["classic_bn"], v["classic_bn_fc"]
    s["classic_table"] = layer_table(c, h, lang)
    s["classic_bn_table"] = layer_table(cb, h, lang)
    s["classic_bn_fc_table"] = layer_table(cbf, h, lang)
    s["classic_total"] = num(c["total_params"])
    s["classic_fc_share"] = num(100 * c["layers"][-1]["params"] / c["total_params"], 3)
    s["classic_fc_params"] = num(c["layers"][-1]["params"])
    s["classic_flat"] = num(c["layers"][-2]["output"][0])
    s["bn_total"] = num(cb["total_params"])
    s["bn_extra"] = num(cb["total_params"] - c["total_params"])
    s["bn_stats"] = num(cb["total_non_trainable"])
    s["bn_bias"] = num(sum(r["output"][-1] for r in cb["layers"] if r["layer"].upper().startswith("CONV")))
    s["bn_fc_total"] = num(cbf["total_params"])
    s["bn_fc_stats"] = num(cbf["total_non_trainable"])

    # 2. receptive field
    rows = []
    for r in v["rf"]:
        d = r["dilation"][0] if len(set(r["dilation"])) == 1 else ",".join(map(str, r["dilation"]))
        st = r["stride"][0]
        rows.append([r["layers"], r["kernel"], d, st, r["padding"], r["size"], r["size_formula"],
                     f"{vec(r['origin']['rows'])}", f"{vec(r['rows'])} × {vec(r['cols'])}",
                     f"{r['pixels_reached']}/{r['pixels_in_field']}"])
    at = v["rf"][0]["at"]
    s["rf_table"] = md_table(["L", "K", "D", "S", "P", h["rf_size"], h["formula"], h["rf_origin"],
                              h["rf_at"].format(i=at[0], j=at[1]), h["reached"]], rows)
    r2 = v["rf"][1]
    s["rf2_size"], s["rf2_reached"], s["rf2_field"] = num(r2["size"]), num(r2["pixels_reached"]), num(r2["pixels_in_field"])
    s["rf2_at"] = f"({at[0]}, {at[1]})"
    s["rf2_rows"], s["rf2_cols"] = vec(r2["rows"]), vec(r2["cols"])
    rp = v["rf"][-1]
    s["rfp_rows"], s["rfp_jump"], s["rfp_ptot"] = vec(rp["origin"]["rows"]), num(rp["jump"]), num(rp["padding_total"])

    # 3. conv output
    rows = []
    for (n, k, d, m, st, p, ch), r in v["conv"]:
        rows.append([f"{n}×{n}×{ch}", k, d, m, st, p, shape(r["output"]), r["size_formula"], r["params_formula"]])
    s["conv_table"] = md_table([h["input"], "K", "D", "M", "S", "P", h["output"], h["out_formula"],
                                h["params_formula"]], rows)

    # 4. losses
    rows = []
    res = {key: r for key, _, _, r in v["losses"]}
    for key, t, p, r in v["losses"]:
        rows.append([h["scenario"][key]] + [num(r[m]) if r[m] is not None else h["undefined"] for m in losses.METRICS])
    s["loss_table"] = md_table([h["case"]] + [f"`{m}`" for m in losses.METRICS], rows)
    base_t, base_p = v["losses"][0][1], v["losses"][0][2]
    s["loss_base_true"], s["loss_base_pred"] = vec(base_t), vec(base_p)
    s["loss_near_zero_true"] = vec(v["losses"][5][1])
    s["loss_extreme_true"] = vec(v["losses"][4][1])
    b = res["base"]
    var = sum((a - sum(base_t) / len(base_t)) ** 2 for a in base_t) / len(base_t)
    r2 = 1 - b["mse"] / var
    s["base_r2"], s["base_sqrt_1mr2"], s["base_nrmse_std"] = num(r2), num((1 - r2) ** 0.5), num(b["nrmse_std"])
    for key in ("base", "units", "offset", "bad_prediction", "extreme_target", "near_zero"):
        for m in losses.METRICS:
            s[f"{key}_{m}"] = num(res[key][m])
    s["units_mse_ratio"] = num(res["units"]["mse"] / b["mse"])
    s["units_rmse_ratio"] = num(res["units"]["rmse"] / b["rmse"])
    s["bad_mse_ratio"] = num(res["bad_prediction"]["mse"] / b["mse"], 3)
    s["bad_rmse_ratio"] = num(res["bad_prediction"]["rmse"] / b["rmse"], 3)
    s["extreme_range_ratio"] = num(b["nrmse_range"] / res["extreme_target"]["nrmse_range"], 3)
    s["extreme_std_ratio"] = num(b["nrmse_std"] / res["extreme_target"]["nrmse_std"], 3)
    s["bad_rmsre_ratio"] = num(res["bad_prediction"]["rmsre"] / b["rmsre"], 3)
    s["zero_positions"] = str([i for i, t in enumerate(v["losses"][6][1]) if t == 0])

    # 5. activations
    props = v["activations"]
    labels = {name: {k: tr(lang, val) if isinstance(val, str) else val for k, val in p.items()} for name, p in props.items()}
    s["act_table"] = activations.markdown_table(labels, measured["relative_time"], h["act"])
    s["act_depth"] = str(activations.DEPTH)
    s["act_width"] = str(activations.WIDTH)
    s["act_samples"] = f"{activations.SAMPLES:,}"
    s["time_size"], s["time_repeats"] = f"{activations.TIME_SIZE:,}", str(activations.TIME_REPEATS)
    for name, key in (("ReLU", "relu"), ("ELU", "elu"), ("SELU", "selu"), ("GELU", "gelu"), ("LeakyReLU", "leaky"),
                      ("PReLU", "prelu"), ("RReLU (train)", "rrelu_train"), ("RReLU (eval)", "rrelu_eval")):
        p = props[name]
        s[f"{key}_mean"], s[f"{key}_std"] = num(p["mean_on_normal"], 3), num(p["std_on_normal"], 3)
        s[f"{key}_zero"] = num(p["zero_grad_fraction"], 3)
        s[f"{key}_deep_std"] = num(p[f"deep_std_after_{activations.DEPTH}"], 3)
        s[f"{key}_jump"] = num(p["fprime_jump_at_0"], 4)
        s[f"{key}_lower"] = num(p["lower_bound"], 4)
        s[f"{key}_time"] = num(measured["relative_time"][name], 3)

    # 6. dropout
    rows = []
    for name, d in v["demos"]["dropout"].items():
        rows.append([f"`nn.{name}(p={d['p']})`", shape(d["input_shape"]), f"{d['values_zeroed']}/{d['values_total']}",
                     f"{d['channels_fully_zeroed']}/{d['channels_total']}", d["channels_partly_zeroed"],
                     vec(d["survivor_values"]), h["yes"] if d["eval_is_identity"] else h["no"]])
    s["dropout_table"] = md_table(h["dropout"], rows)
    s["dropout_scale"] = num(v["demos"]["dropout"]["Dropout"]["survivor_values"][0])

    # 7. batch norm
    bn = v["demos"]["batchnorm"]
    s.update({
        "bn_gamma": vec(bn["learnable"]["weight"]["value"]), "bn_beta": vec(bn["learnable"]["bias"]["value"]),
        "bn_momentum": num(bn["momentum"]), "bn_eps": f"{bn['eps']:g}", "bn_updates": str(bn["updates"]),
        "bn_in_mean": vec(bn["batch_mean_of_inputs"]), "bn_in_std": vec(bn["batch_std_of_inputs"]),
        "bn_running_mean": vec(bn["running_mean"]), "bn_running_var": vec(bn["running_var"]),
        "bn_running_mean_hand": vec(bn["running_mean_by_hand"]), "bn_running_var_hand": vec(bn["running_var_by_hand"]),
        "bn_train_mean": vec(bn["train_output_mean"]), "bn_train_std": vec(bn["train_output_std"]),
        "bn_eval_mean": vec(bn["eval_output_mean"]), "bn_eval_std": vec(bn["eval_output_std"]),
        "bn_diff_train": bound(bn["max_abs_diff_train_vs_hand"]), "bn_diff_eval": bound(bn["max_abs_diff_eval_vs_hand"]),
        "bn_buffers": ", ".join(f"`{b}`" for b in bn["buffers"]),
    })

    # 8. autoencoder
    ae = measured["autoencoder"]
    arch = v["ae_architecture"]
    s["ae_table"] = md_table([h["part"], h["layer"], h["output"] + " (C×H×W)", h["params"]],
                             [[h[r["part"]], f"`{r['layer']}`", shape(r["output"]), r["params"]] for r in arch])
    s["ae_params"] = num(sum(r["params"] for r in arch))
    s["ae_code"] = num(ae["code_size"])
    s["ae_code_share"] = num(100 * ae["code_size"] / 784, 3)
    for key in ("train_images", "test_images", "epochs", "steps", "batch_size"):
        s[f"ae_{key}"] = num(ae[key])
    s["ae_noise"] = num(ae["noise_std"])
    for key in ("mse_untrained", "mse_reconstruction", "mse_noisy_input", "mse_denoised"):
        s[f"ae_{key}"] = num(ae[key], 3)
    s["ae_denoise_ratio"] = num(ae["mse_noisy_input"] / ae["mse_denoised"], 3)
    s["ae_torch"] = measured["torch"]

    # 9. gridding
    rows = []
    for name, g in v["demos"]["gridding"].items():
        r = rf.receptive_field(3, 3, g["dilations"])
        rows.append([name, f"{g['field']}×{g['field']}", g["pixels_reached"], g["pixels_in_field"],
                     num(100 * g["fraction_reached"], 3) + "%", vec(r["offsets"])])
    s["grid_table"] = md_table(h["gridding"], rows)
    g2, g5 = v["demos"]["gridding"]["2,2,2"], v["demos"]["gridding"]["1,2,5"]
    s["grid2_reached"], s["grid2_field"] = num(g2["pixels_reached"]), num(g2["pixels_in_field"])
    s["grid5_reached"], s["grid5_field"] = num(g5["pixels_reached"]), num(g5["pixels_in_field"])

    # 10. 1-D conv backprop
    ex, r = conv1d.EXAMPLE, v["conv1d"]
    x, k, w, z, al = ex["x"], ex["k"], ex["w"], r["z"], r["dL_dz"]
    s.update({"ex_x": vec(x), "ex_k": vec(k), "ex_b": num(ex["b"]), "ex_w": vec(w), "ex_a": num(ex["a"]),
              "ex_y": num(ex["y"]), "ex_z": vec(z), "ex_v": vec(r["v"]), "ex_yhat": num(r["y_hat"], 6),
              "ex_loss": num(r["loss"], 6), "ex_e": num(r["dL_dy_hat"], 6), "ex_dw": vec(r["dL_dw"], 6),
              "ex_da": num(r["dL_da"], 6), "ex_dv": vec(r["dL_dv"], 6), "ex_dz": vec(al, 6), "ex_dk": vec(r["dL_dk"], 6),
              "ex_db": num(r["dL_db"], 6), "ex_dx": vec(r["dL_dx"], 6), "ex_diff": bound(v["conv1d_diff"]),
              "ex_cli": " ".join(f"--{key}{'=' if str(val).startswith('-') else ' '}" +
                                 (",".join(f"{u:g}" for u in val) if isinstance(val, list) else f"{val:g}")
                                 for key, val in ex.items())})

    def term(a, b):
        return f"({num(a, 6)})({num(b, 6)})"
    s["ex_z_lines"] = "\n".join(
        f"    z{j + 1} = " + " + ".join(term(k[i], x[j + i]) for i in range(len(k))) + f" + {num(ex['b'])} = {num(z[j], 6)}"
        for j in range(len(z)))
    s["ex_v_lines"] = "\n".join(
        f"    v{j + 1} = max({num(z[j], 6)}, {num(z[j + 1], 6)}, 0) = {num(r['v'][j], 6)}" for j in range(len(r["v"])))
    s["ex_yhat_line"] = ("    ŷ = " + " + ".join(term(w[j], r["v"][j]) for j in range(len(w))) +
                         f" + {num(ex['a'])} = {num(r['y_hat'], 6)}")
    s["ex_dk_lines"] = "\n".join(
        f"    ∂L/∂k{i + 1} = " + " + ".join(term(al[j], x[j + i]) for j in range(len(al))) + f" = {num(r['dL_dk'][i], 6)}"
        for i in range(len(k)))
    s["ex_dx_lines"] = "\n".join(
        f"    ∂L/∂x{m + 1} = " + (" + ".join(term(al[j], k[m - j]) for j in range(len(al)) if 0 <= m - j < len(k)))
        + f" = {num(r['dL_dx'][m], 6)}" for m in range(len(x)))
    winners = []
    for j in range(len(r["v"])):
        m = j if z[j] >= z[j + 1] else j + 1
        winners.append(f"v{j + 1} ← z{m + 1}" if z[m] > 0 else f"v{j + 1} ← 0")
    s["ex_winners"] = ", ".join(winners)
    s["ex_no_grad"] = ", ".join(f"z{m + 1}" for m in range(len(z)) if al[m] == 0) or "—"
    return s


def render(lang: str, v: dict, measured: dict) -> str:
    values = fill(lang, v, measured)
    return re.sub(r"«([a-z0-9_]+)»", lambda m: values[m[1]], TEMPLATES[lang])


def build(measured: dict, seed: int = 0) -> dict[str, str]:
    v = compute(seed)
    return {"theory.md": render("en", v, measured), "theory.fa.md": render("fa", v, measured)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", default=str(ROOT / "docs"), help="docs folder to write")
    p.add_argument("--measure", action="store_true", help="retrain the autoencoder and time the activations")
    p.add_argument("--data", help="EMNIST folder for --measure (default: the sample shipped with cnnlab)")
    p.add_argument("--no-figures", action="store_true", help="write only the markdown")
    args = p.parse_args(argv)
    docs = Path(args.docs)
    (docs / FIGURES).mkdir(parents=True, exist_ok=True)
    measured_path = docs / FIGURES / "measured.json"
    if args.measure:
        measured = measure(docs, args.data)
        measured_path.write_text(json.dumps(measured, indent=2) + "\n")
    elif not measured_path.exists():
        print(f"{measured_path} is missing: run once with --measure", file=sys.stderr)
        return 2
    measured = json.loads(measured_path.read_text())
    if not args.no_figures:
        figures(docs)
    for name, text in build(measured).items():
        (docs / name).write_text(text)
        print(f"wrote {docs / name}")
    return 0


# ---------------------------------------------------------------------------------------------------------------
# Templates: «name» is replaced by fill()'s value of that name.

HEADERS = {
    "en": {
        "total": "total", "layer": "layer", "output": "output", "params": "params", "non_trainable": "non-trainable",
        "how": "how", "rf_size": "field", "formula": "formula", "rf_origin": "rows seen by output (0,0)",
        "rf_at": "rows × columns seen by output ({i},{j})", "reached": "pixels reached", "input": "input",
        "out_formula": "output side", "params_formula": "parameters", "case": "case", "undefined": "undefined",
        "scenario": {"base": "base", "units": "units ×1000", "offset": "offset +273.15",
                     "bad_prediction": "one bad prediction (+20)", "extreme_target": "one extreme target (200)",
                     "near_zero": "values near 0 (min 0.1)", "zero": "a target equal to 0"},
        "act": {},
        "yes": "yes", "no": "no",
        "dropout": ["module", "input (N×C×…)", "values zeroed", "channels entirely zero", "channels partly zero",
                    "surviving values", "eval = identity"],
        "part": "part", "encoder": "encoder", "decoder": "decoder",
        "gridding": ["dilations", "field", "pixels reached", "pixels in field", "share", "1-D offsets reached"],
    },
    "fa": {
        "total": "مجموع", "layer": "لایه", "output": "خروجی", "params": "پارامتر", "non_trainable": "غیرقابل‌آموزش",
        "how": "محاسبه", "rf_size": "میدان", "formula": "فرمول", "rf_origin": "سطرهای دیده‌شده برای خروجی (0,0)",
        "rf_at": "سطر × ستون دیده‌شده برای خروجی ({i},{j})", "reached": "پیکسل‌های متصل", "input": "ورودی",
        "out_formula": "ضلع خروجی", "params_formula": "پارامترها", "case": "حالت", "undefined": "تعریف‌نشده",
        "scenario": {"base": "پایه", "units": "واحد ×1000", "offset": "انتقال +273.15",
                     "bad_prediction": "یک پیش‌بینی بد (+20)", "extreme_target": "یک هدف بسیار بزرگ (200)",
                     "near_zero": "مقادیر نزدیک صفر (کمینه 0.1)", "zero": "یک هدف برابر صفر"},
        "act": {"activation": "تابع فعال‌سازی", "range": "برد", "smoothness": "همواری",
                "mean_on_normal": "میانگین f(x)، x~N(0,1)", "std_on_normal": "انحراف معیار f(x)",
                "zero_centred": "صفرمحور", "zero_grad_fraction": "کسر گرادیان صفر", "dying_units": "نورون مرده",
                f"deep_std_after_{activations.DEPTH}": f"انحراف معیار پس از {activations.DEPTH} لایه",
                "self_normalizing": "خودنرمال‌ساز", "relative_time": "زمان نسبی (اندازه‌گیری‌شده)"},
        "yes": "بله", "no": "خیر",
        "dropout": ["ماژول", "ورودی (N×C×…)", "مقادیر صفرشده", "کانال‌های کاملاً صفر", "کانال‌های بخشی صفر",
                    "مقادیر باقی‌مانده", "ارزیابی = همانی"],
        "part": "بخش", "encoder": "رمزگذار", "decoder": "رمزگشا",
        "gridding": ["اتساع‌ها", "میدان", "پیکسل‌های متصل", "پیکسل‌های میدان", "سهم", "جابه‌جایی‌های یک‌بعدی متصل"],
    },
}

CELLS = {"fa": [  # longest first
    ("yes: zero gradient for x < 0", "بله: گرادیان صفر برای x < 0"), ("kink at 0 (f' jumps)", "شکستگی در 0 (پرش f′)"),
    ("C¹ (f'' jumps at 0)", "C¹ (پرش f″ در 0)"), ("smooth", "هموار"), ("≈ yes", "≈ بله"),
    ("running mean, var", "میانگین و واریانس جاری"), ("no parameters", "بدون پارامتر"),
    ("one learnable slope", "یک شیب قابل‌آموزش"), ("learnable", "قابل‌آموزش"), ("statistics", "آماره"),
    ("params =", "پارامترها ="), ("out =", "خروجی ="), ("yes", "بله"), ("no", "خیر"),
]}

TEMPLATES: dict[str, str] = {}

TEMPLATES["en"] = r"""# Theory: the questions answered by code

*Generated by `scripts/make_theory_docs.py` from `cnnlab.theory`; do not edit by hand. Every number below is
computed by the package (the tests check those functions against real torch layers and autograd, and check that
this file is exactly what the script writes). The autoencoder's errors and the activation timings are
measurements, stored in `docs/figures/theory/measured.json` (torch «ae_torch»). Persian version:
[theory.fa.md](theory.fa.md).*

Contents: [1 Layer tables](#1-layer-tables) · [2 Receptive field](#2-receptive-field) ·
[3 Output size of a convolution](#3-output-size-of-a-convolution) · [4 Regression losses](#4-regression-losses) ·
[5 Activations](#5-activation-functions) · [6 Dropout](#6-dropout-dropout2d-dropout3d) ·
[7 Batch normalization](#7-batch-normalization) · [8 Autoencoder](#8-convolutional-autoencoder) ·
[9 Dilated convolutions and gridding](#9-dilated-convolutions-and-the-gridding-artefact) ·
[10 Backpropagation through a 1-D convolution](#10-backpropagation-through-a-1-d-convolution)

## 1. Layer tables

Notation: `CONVx-N(S,P)` is N filters of x×x×D over a depth-D input with stride S and padding P (1 and 1 when not
written), `POOL-n` is max pooling n×n with stride n and no padding, `FC-N` a fully connected layer with N outputs.
For an H×W×D input:

- convolution: output side ⌊(H + 2P − x)/S⌋ + 1, depth N; parameters x·x·D·N + N (weights plus one bias per filter);
- pooling: output side ⌊(H − n)/n⌋ + 1, same depth; no parameters;
- batch normalization: same shape; 2·C learnable values (γ and β per channel) plus 2·C running statistics (mean and
  variance, updated by averaging, not by gradients: non-trainable);
- activation, flatten, dropout: no parameters (PReLU learns one slope);
- fully connected on F inputs: F·N + N.

`cnnlab theory layers --input 32x32x3 "«classic_spec»"`

«classic_table»

The network has «classic_total» learnable parameters, and the last layer alone holds «classic_fc_params» of them
(«classic_fc_share»%): the 8×8×16 maps flatten into «classic_flat» values, each connected to every output. The
convolutions are cheap because a filter is shared over all positions.

With batch normalization after each convolution (`«classic_bn_spec»`):

«classic_bn_table»

Batch normalization adds «bn_extra» learnable parameters (γ, β) and «bn_stats» non-trainable running statistics;
the shapes do not change. Since batch normalization subtracts the per-channel mean, the bias of a convolution
right before it has no effect: the «bn_bias» conv biases could be dropped (`bias=False`).

A wider head with batch normalization and dropout (`«classic_bn_fc_spec»`): «bn_fc_total» learnable parameters,
«bn_fc_stats» running statistics; batch normalization on a flat vector has 2 values per feature.

«classic_bn_fc_table»

Every row of these tables is checked in `tests/test_theory.py` against `nn.Sequential` built from the same spec
(shape of a dummy forward pass, `numel` of the parameters and of the running buffers).

## 2. Receptive field

For L stacked convolutions with kernel K, dilation D and stride S, a dilated kernel spans K_eff = D(K − 1) + 1
inputs; layer l adds (K_eff − 1) steps of its input, and one step there is S^(l−1) input pixels:

    size = 1 + Σ_l D(K − 1)·S^(l−1)            = 1 + L·D·(K − 1)          for stride 1
    output (i, j) sees input rows    S^L·i − P_tot  …  S^L·i − P_tot + size − 1,   columns the same with j
    P_tot = Σ_l P·S^(l−1)   (padding moves the window off the image: negative indices are zeros)

`cnnlab theory receptive-field --layers 3 --kernel 3 --dilation 2 --at 2,3`

«rf_table»

Three 3×3 layers with dilation 2 see a «rf2_size»×«rf2_size» field; output «rf2_at» sees rows «rf2_rows» and
columns «rf2_cols» of the input. But only «rf2_reached» of the «rf2_field» pixels in that square are connected to
the output (the last column): a dilated kernel skips pixels, see [section 9](#9-dilated-convolutions-and-the-gridding-artefact).
With stride 2 and padding 1 the step between neighbouring outputs is «rfp_jump» pixels and the window of output
(0, 0) starts «rfp_ptot» pixels inside the padding (rows «rfp_rows»). The tests check every row by back-propagating
from one output element through real dilated `nn.Conv2d` layers with all-ones weights: the input pixels with a
non-zero gradient are exactly the predicted ones.

## 3. Output size of a convolution

    output side = ⌊(N + 2P − D(K − 1) − 1)/S⌋ + 1,   depth M,   parameters K·K·C·M + M

`cnnlab theory conv-output --input 32 --kernel 3 --dilation 2 --filters 16`

«conv_table»

Dilation does not change the parameter count (still K·K·C per filter); it only enlarges the window and so shrinks
an unpadded output. "Same" padding for a dilated kernel is P = D(K − 1)/2 (third row). The tests compare every
row with `nn.Conv2d`.

## 4. Regression losses

| metric | definition | units | typical use |
|---|---|---|---|
| `mse` | mean((y − ŷ)²) | units² | the training loss of regression: smooth, its gradient 2(ŷ − y) is proportional to the error; the maximum-likelihood loss under Gaussian noise |
| `rmse` | √mse | units of y | reporting: an error in the target's own units (e.g. "±1.5 °C") |
| `nrmse_range` | rmse / (max y − min y) | none | comparing models across data sets or variables with different ranges (hydrology, sensors) |
| `nrmse_mean` | rmse / mean(y) | none | CV(RMSE), e.g. building-energy models (ASHRAE Guideline 14); only for positive quantities |
| `nrmse_std` | rmse / std(y) | none | error relative to the spread: √(1 − R²); 1 means "no better than predicting the mean" |
| `nrmse_iqr` | rmse / (Q3 − Q1) | none | like `nrmse_std` but with a scale that outliers in y do not inflate |
| `rrmse` | rmse / mean(y) | none (often ×100%) | agronomy, ecology, remote sensing ("< 10% excellent, > 30% poor") |
| `rmsre` | √mean(((y − ŷ)/y)²) | none | when relative errors matter: prices, concentrations spanning orders of magnitude |

All use the population statistics of the true values; `nrmse_iqr` uses numpy's default (linear) percentiles.
A metric whose denominator is 0 is undefined: `cnnlab theory losses` reports it as `null` and says why.

The same seven errors under different circumstances, base case y = «loss_base_true»,
ŷ = «loss_base_pred» (`cnnlab theory losses --y-true ... --y-pred ...`):

«loss_table»

What the table shows next to MSE:

- **Units and scale.** Measuring in units 1000× smaller multiplies MSE by «units_mse_ratio» and RMSE by
  «units_rmse_ratio» (MSE is in squared units, so its size says little without the scale), while every normalized
  or relative metric stays the same («base_nrmse_range», «base_nrmse_mean», «base_nrmse_std», …). That is why
  NRMSE/RRMSE are used to compare models on different data sets.
- **Offsets.** Adding 273.15 to every value (°C → K) leaves MSE, RMSE and the range/std/IQR versions unchanged but
  divides `nrmse_mean`/`rrmse` by about 12 («base_rrmse» → «offset_rrmse») and `rmsre` likewise
  («base_rmsre» → «offset_rmsre»): mean- and value-relative metrics are meaningful only on a ratio scale with a
  true zero.
- **Outliers in the errors.** One prediction off by 20 multiplies MSE by «bad_mse_ratio» and RMSE by
  «bad_rmse_ratio»: squaring makes the largest errors dominate (MAE would grow far less). Every RMSE-based metric
  inherits this, since each is RMSE divided by a constant of the data.
- **Outliers in the targets.** One true value of 200 (with the same errors) inflates the range and the standard
  deviation: `nrmse_range` looks «extreme_range_ratio»× better («base_nrmse_range» → «extreme_target_nrmse_range»)
  and `nrmse_std` «extreme_std_ratio»× better, although the errors are identical. `nrmse_iqr` does not move
  («extreme_target_nrmse_iqr»).
- **Values near zero.** Shifting the targets so that the smallest is 0.1 leaves MSE unchanged but `rmsre` jumps
  from «base_rmsre» to «near_zero_rmsre»: one relative error of 12 dominates. With a true value of exactly 0 (position
  «zero_positions» in the last row) it is undefined, and `cnnlab theory losses` says so and reports `null`. `nrmse_mean`/`rrmse` have the same problem when the mean is near 0 (and change sign
  with it).
- **Relation to R².** In the base case R² = 1 − mse/var(y) = «base_r2» and √(1 − R²) = «base_sqrt_1mr2» =
  `nrmse_std` («base_nrmse_std»).

In short: train with MSE (smooth, well-scaled gradients), report RMSE in the target's units, and compare across
data sets with an NRMSE whose denominator suits the data: range or std for bounded, outlier-free targets, IQR when
the targets have outliers, the mean (RRMSE) only for positive quantities with a true zero, and RMSRE only when no
target is near zero.

## 5. Activation functions

![activations and their derivatives](«fig»/activations.png)

f and f′ of each activation, f′ by autograd through torch's own module (`cnnlab theory activations --out DIR`).
Defaults: LeakyReLU slope 0.01, PReLU initial slope 0.25 (learned), RReLU slope drawn from U(1/8, 1/3) per element
in training (the scattered points) and fixed to the mean 11/48 in evaluation, ELU α = 1, SELU λ ≈ 1.0507,
α ≈ 1.6733, GELU x·Φ(x).

Measured on «act_samples» samples of N(0, 1) (range and smoothness from the module on a grid and just either side
of 0; "std after «act_depth» layers": a stack of «act_depth» linear layers «act_width» wide with LeCun-normal
weights (variance 1/fan-in), each followed by the activation; relative time: fastest of «time_repeats» forward + backward passes on
«time_size» values on one thread, machine-dependent):

«act_table»

- **ReLU**: cheap (one comparison), no saturation for x > 0, sparse outputs; but half of the inputs get a zero gradient
  («relu_zero» here) and a unit whose input stays negative stops learning ("dying ReLU"). Its outputs are not
  zero-centred (mean «relu_mean»).
- **LeakyReLU / PReLU / RReLU**: a small negative slope keeps a gradient for x < 0 (no dying units); PReLU learns
  the slope (one extra parameter), RReLU randomizes it in training as a regularizer and uses the mean slope at
  evaluation — the two rows show training and evaluation behaviour.
- **ELU**: negative outputs saturate at −1 (mean «elu_mean», closer to zero than ReLU's), f is C¹ at 0 with α = 1;
  it needs an exponential for x < 0 (measured time «elu_time»× ReLU's).
- **SELU**: scaled ELU whose fixed λ, α map N(0, 1) to mean «selu_mean» and std «selu_std»; with LeCun-normal
  weights the activations keep std «selu_deep_std» after «act_depth» layers (self-normalization), where ReLU falls
  to «relu_deep_std» and GELU to «gelu_deep_std» with the same initialisation (ReLU needs He init, variance 2/fan-in,
  instead). It has a kink at 0: f′ goes from λα to λ, a jump of «selu_jump».
- **GELU**: smooth everywhere, slightly negative for x < 0 (minimum «gelu_lower»), the default of Transformers;
  Φ is an erf (measured time «gelu_time»× ReLU's).

## 6. Dropout, Dropout2d, Dropout3d

`nn.Dropout(p)` zeroes single values with probability p; `nn.Dropout2d(p)` zeroes whole channels (an entire H×W
feature map of one sample) of an N×C×H×W tensor; `nn.Dropout3d(p)` whole channels (D×H×W volumes) of an N×C×D×H×W
tensor. Survivors are multiplied by 1/(1 − p) so the expected value is unchanged, and in evaluation mode all three
are the identity. On a tensor of ones (`cnnlab theory demos`):

«dropout_table»

![Dropout vs Dropout2d](«fig»/dropout.png)

Why channels: neighbouring activations of a feature map are strongly correlated, so dropping single values barely
removes information (the neighbours carry it) — the network is not forced to stop relying on one feature. Dropping
a whole map removes the feature, which regularizes convolutional layers the way ordinary dropout regularizes
fully connected ones. Dropout3d is the same for 3-D feature maps (video, volumetric images).

## 7. Batch normalization

For each channel c, over the batch and all positions, in training mode:

    y = γ_c · (x − μ_B) / √(σ²_B + ε) + β_c          μ_B, σ²_B: mean and biased variance of the batch
    running_mean ← (1 − m)·running_mean + m·μ_B,    running_var ← (1 − m)·running_var + m·σ²_B·n/(n − 1)

and in evaluation mode the same formula with the running statistics instead of the batch's. γ (`weight`) and β
(`bias`) are learnable parameters (trained by gradient descent, initialised to 1 and 0); the running statistics are
buffers («bn_buffers»), updated by the averaging above, never by gradients.

`BatchNorm2d(3)` with momentum m = «bn_momentum», ε = «bn_eps», γ = «bn_gamma», β = «bn_beta», fed «bn_updates»
training batches of 8×3×4×4 values with channel means «bn_in_mean» and stds «bn_in_std»:

- running mean «bn_running_mean» and running variance «bn_running_var»; by hand: «bn_running_mean_hand» and
  «bn_running_var_hand» (starting from 0 and 1, after «bn_updates» updates they are still far from the data's
  statistics: with m = 0.1 it takes tens of batches);
- training-mode output of a new batch: per-channel mean «bn_train_mean» (= β) and std «bn_train_std» (= |γ|),
  whatever the input's scale;
- evaluation-mode output of the same batch: mean «bn_eval_mean», std «bn_eval_std» — different, because it uses the
  (still inaccurate) running statistics: this is why a model must be switched to `eval()` for inference and why
  batch norm misbehaves with tiny batches or when train and test statistics differ;
- largest difference between torch and the hand computation: training «bn_diff_train», evaluation «bn_diff_eval».

γ and β let the layer undo the normalization where that helps (γ = σ, β = μ restores the input), so normalizing
does not reduce what the network can represent.

## 8. Convolutional autoencoder

An autoencoder learns to reproduce its input through a bottleneck: the encoder compresses the image to a small
code, the decoder rebuilds the image from it, and the loss is the reconstruction error (MSE). Convolutional layers
keep the spatial structure; strided convolutions downsample and transposed convolutions upsample.
`src/cnnlab/theory/autoencoder.py`:

«ae_table»

«ae_params» parameters; the code is «ae_code» numbers, «ae_code_share»% of the 784 pixels. Trained as a
*denoising* autoencoder: input = image + Gaussian noise (std «ae_noise», clipped to [0, 1]), target = the clean
image. Data: EMNIST («ae_train_images» training and «ae_test_images» test images of the sample shipped with
cnnlab), «ae_epochs» epochs = «ae_steps» Adam steps of «ae_batch_size» images
(`cnnlab theory autoencoder --out DIR`).

| test MSE | value |
|---|---|
| untrained network | «ae_mse_untrained» |
| reconstruction of clean images | «ae_mse_reconstruction» |
| noisy input vs clean image | «ae_mse_noisy_input» |
| output for the noisy input vs clean image | «ae_mse_denoised» |

The denoised output is «ae_denoise_ratio»× closer to the clean image than the noisy input.

![reconstructions](«fig»/reconstructions.png)

![denoising](«fig»/denoising.png)

Uses: compression and feature learning without labels (the code as input to a classifier), denoising, anomaly
detection (a large reconstruction error flags an input unlike the training data), pre-training an encoder.

## 9. Dilated convolutions and the gridding artefact

A dilated (atrous) convolution with dilation D spreads its K taps D pixels apart: the field grows to D(K − 1) + 1
without more parameters or lower resolution (no pooling), which is why segmentation networks (DeepLab) use it.
Stacking layers with the *same* dilation, however, only ever combines pixels on a grid of step D: the inputs
between are never seen (gridding, checkerboard artefacts). Mixed dilations such as 1, 2, 5 (hybrid dilated
convolution) fill the grid. Inputs reaching one output of three 3×3 layers, from the gradient of real dilated
convolutions (`cnnlab theory demos`; colour = number of paths):

![gridding](«fig»/gridding.png)

«grid_table»

With dilation 2 everywhere only «grid2_reached» of the «grid2_field» pixels of the field are connected; with
dilations 1, 2, 5 all «grid5_reached» of «grid5_field» are. A rule from the HDC paper: the dilations of consecutive
layers should not share a common factor greater than 1 (2, 4, 8 is bad), and the gap between a layer's taps (its
dilation) must not exceed the span that the layers below it cover without holes.

## 10. Backpropagation through a 1-D convolution

The network: z = conv1d(x, k) + b (valid cross-correlation: 5 inputs, 3 taps → 3 values),
v₁ = max(z₁, z₂, 0), v₂ = max(z₂, z₃, 0), ŷ = w₁v₁ + w₂v₂ + a, L = ½(y − ŷ)².

    z_j = Σ_i k_i x_{j+i−1} + b
    ∂L/∂ŷ = ŷ − y = e,   ∂L/∂a = e,   ∂L/∂w_j = e·v_j,   ∂L/∂v_j = e·w_j
    ∂L/∂z_m = α_m = Σ over the pools j that z_m wins of ∂L/∂v_j
    ∂L/∂k_i = Σ_j α_j x_{j+i−1},   ∂L/∂b = Σ_j α_j,   ∂L/∂x_m = Σ_j α_j k_{m−j+1}

The gradient of the kernel is the cross-correlation of the input with α; the gradient of the input is the *full*
convolution of α with the kernel (α padded, kernel flipped). Each pooled v_j passes its gradient only to the z that
was the maximum; if 0 is the maximum (the ReLU is off) it passes none. Ties: z_j = z_{j+1} sends the gradient to
z_j, and a maximum equal to 0 passes none — the conventions of torch's `max_pool1d` and `relu` (relu′(0) = 0), so
the closed form and autograd agree even at ties (tested; random tests have no ties).

Worked example (`cnnlab theory conv1d-backprop «ex_cli»`): x = «ex_x», k = «ex_k», b = «ex_b», w = «ex_w»,
a = «ex_a», y = «ex_y».

Forward:

«ex_z_lines»
«ex_v_lines»
«ex_yhat_line»
    L = ½(«ex_y» − «ex_yhat»)² = «ex_loss»

Backward (e = ŷ − y = «ex_e»; pooling routes «ex_winners»):

    ∂L/∂ŷ = ∂L/∂a = «ex_e»
    ∂L/∂w = e·v = «ex_dw»
    ∂L/∂v = e·w = «ex_dv»
    ∂L/∂z = α = «ex_dz»      («ex_no_grad» gets no gradient)
«ex_dk_lines»
    ∂L/∂b = Σ α_j = «ex_db»
«ex_dx_lines»

Checked against torch autograd (`F.conv1d`, `F.max_pool1d`, `F.relu` in float64): largest difference «ex_diff».
The same formulas hold for any number of inputs and taps (`cnnlab.theory.conv1d.conv1d_grads`), tested on random
sizes against autograd.
"""
TEMPLATES["fa"] = r"""<div dir="rtl">

# نظریه: پاسخ پرسش‌ها با کد

*این فایل را `scripts/make_theory_docs.py` از روی `cnnlab.theory` می‌سازد؛ آن را دستی ویرایش نکنید. همهٔ اعداد زیر
را خود بسته محاسبه می‌کند (آزمون‌ها این توابع را با لایه‌های واقعی torch و autograd می‌سنجند و بررسی می‌کنند که این
فایل دقیقاً همان خروجی اسکریپت باشد). خطاهای خودرمزگذار و زمان‌سنجی توابع فعال‌سازی اندازه‌گیری‌اند و در
`docs/figures/theory/measured.json` نگه داشته می‌شوند (torch «ae_torch»). نسخهٔ انگلیسی: [theory.md](theory.md).*

فهرست: ۱ جدول لایه‌ها · ۲ میدان دید · ۳ اندازهٔ خروجی کانولوشن · ۴ توابع خطای رگرسیون · ۵ توابع فعال‌سازی ·
۶ Dropout · ۷ نرمال‌سازی دسته‌ای · ۸ خودرمزگذار کانولوشنی · ۹ کانولوشن متسع و اثر شطرنجی ·
۱۰ پس‌انتشار در کانولوشن یک‌بعدی

## ۱. جدول لایه‌ها

نمادگذاری: `CONVx-N(S,P)` یعنی N فیلتر x×x×D روی ورودی با عمق D، با گام S و لایه‌گذاری P (اگر نوشته نشوند هر دو
۱ هستند)؛ `POOL-n` بیشینه‌گیری n×n با گام n و بدون لایه‌گذاری؛ `FC-N` لایهٔ تمام‌متصل با N خروجی. برای ورودی
H×W×D:

- کانولوشن: ضلع خروجی ⌊(H + 2P − x)/S⌋ + 1 و عمق N؛ پارامترها x·x·D·N + N (وزن‌ها به‌علاوهٔ یک بایاس برای هر فیلتر)؛
- ادغام (pooling): ضلع خروجی ⌊(H − n)/n⌋ + 1 با همان عمق؛ بدون پارامتر؛
- نرمال‌سازی دسته‌ای: همان شکل؛ 2·C مقدار قابل‌آموزش (γ و β برای هر کانال) به‌علاوهٔ 2·C آمارهٔ جاری (میانگین و
  واریانس که با میانگین‌گیری به‌روز می‌شوند نه با گرادیان: غیرقابل‌آموزش)؛
- فعال‌سازی، تخت‌سازی (flatten) و dropout: بدون پارامتر (PReLU یک شیب یاد می‌گیرد)؛
- تمام‌متصل روی F ورودی: F·N + N.

`cnnlab theory layers --input 32x32x3 "«classic_spec»"`

«classic_table»

این شبکه «classic_total» پارامتر قابل‌آموزش دارد و لایهٔ آخر به‌تنهایی «classic_fc_params» تا از آن‌ها را در بر
دارد («classic_fc_share»٪): نقشه‌های 8×8×16 به «classic_flat» مقدار تخت می‌شوند و هر کدام به همهٔ خروجی‌ها وصل
است. کانولوشن‌ها ارزان‌اند چون هر فیلتر در همهٔ مکان‌ها مشترک است.

با نرمال‌سازی دسته‌ای پس از هر کانولوشن (`«classic_bn_spec»`):

«classic_bn_table»

نرمال‌سازی دسته‌ای «bn_extra» پارامتر قابل‌آموزش (γ و β) و «bn_stats» آمارهٔ جاری غیرقابل‌آموزش اضافه می‌کند و
شکل‌ها تغییری نمی‌کنند. چون این لایه میانگین هر کانال را کم می‌کند، بایاس کانولوشنِ درست پیش از آن اثری ندارد:
می‌توان «bn_bias» بایاس کانولوشن‌ها را حذف کرد (`bias=False`).

سرِ پهن‌تر با نرمال‌سازی دسته‌ای و dropout (`«classic_bn_fc_spec»`): «bn_fc_total» پارامتر قابل‌آموزش و
«bn_fc_stats» آمارهٔ جاری؛ نرمال‌سازی دسته‌ای روی بردار تخت برای هر ویژگی ۲ مقدار دارد.

«classic_bn_fc_table»

هر سطر این جدول‌ها در `tests/test_theory.py` با یک `nn.Sequential` که از همان مشخصات ساخته می‌شود مقایسه
می‌شود (شکل خروجی یک گذر رو به جلو، و `numel` پارامترها و بافرهای آماری).

## ۲. میدان دید

برای L کانولوشن پشت‌سرهم با هستهٔ K، اتساع D و گام S، هستهٔ متسع D(K − 1) + 1 ورودی را می‌پوشاند؛ لایهٔ l به
اندازهٔ (K_eff − 1) گام از ورودی خودش اضافه می‌کند و هر گام آن‌جا S^(l−1) پیکسل ورودی است:

    size = 1 + Σ_l D(K − 1)·S^(l−1)            = 1 + L·D·(K − 1)          for stride 1
    output (i, j) sees input rows    S^L·i − P_tot  …  S^L·i − P_tot + size − 1,   columns the same with j
    P_tot = Σ_l P·S^(l−1)   (padding moves the window off the image: negative indices are zeros)

`cnnlab theory receptive-field --layers 3 --kernel 3 --dilation 2 --at 2,3`

«rf_table»

سه لایهٔ 3×3 با اتساع ۲ میدانی به اندازهٔ «rf2_size»×«rf2_size» می‌بینند؛ خروجی «rf2_at» سطرهای «rf2_rows» و
ستون‌های «rf2_cols» ورودی را می‌بیند. اما فقط «rf2_reached» پیکسل از «rf2_field» پیکسل آن مربع به خروجی وصل‌اند
(ستون آخر): هستهٔ متسع پیکسل‌هایی را جا می‌اندازد؛ بخش ۹ را ببینید. با گام ۲ و لایه‌گذاری ۱، فاصلهٔ دو خروجی
همسایه «rfp_jump» پیکسل است و پنجرهٔ خروجی (0, 0) از «rfp_ptot» پیکسل درون لایه‌گذاری شروع می‌شود (سطرهای
«rfp_rows»). آزمون‌ها هر سطر را با پس‌انتشار از یک عنصر خروجی در لایه‌های واقعی و متسع `nn.Conv2d` با وزن‌های
یک بررسی می‌کنند: پیکسل‌های ورودی با گرادیان ناصفر دقیقاً همان پیکسل‌های پیش‌بینی‌شده‌اند.

## ۳. اندازهٔ خروجی کانولوشن

    output side = ⌊(N + 2P − D(K − 1) − 1)/S⌋ + 1,   depth M,   parameters K·K·C·M + M

`cnnlab theory conv-output --input 32 --kernel 3 --dilation 2 --filters 16`

«conv_table»

اتساع تعداد پارامترها را تغییر نمی‌دهد (همچنان K·K·C برای هر فیلتر)؛ فقط پنجره را بزرگ‌تر و در نتیجه خروجی
بدون لایه‌گذاری را کوچک‌تر می‌کند. لایه‌گذاری `same` برای هستهٔ متسع P = D(K − 1)/2 است (سطر سوم). آزمون‌ها هر
سطر را با `nn.Conv2d` مقایسه می‌کنند.

## ۴. توابع خطای رگرسیون

| معیار | تعریف | واحد | کاربرد رایج |
|---|---|---|---|
| `mse` | mean((y − ŷ)²) | مجذور واحد | تابع هزینهٔ آموزش رگرسیون: هموار، گرادیان 2(ŷ − y) متناسب با خطا؛ بیشینهٔ درست‌نمایی با نویز گاوسی |
| `rmse` | √mse | واحد y | گزارش خطا در واحد خود هدف (مثلاً «±1.5 درجه») |
| `nrmse_range` | rmse / (max y − min y) | بی‌واحد | مقایسهٔ مدل‌ها بین داده‌ها یا متغیرهایی با برد متفاوت (آب‌شناسی، حسگرها) |
| `nrmse_mean` | rmse / mean(y) | بی‌واحد | CV(RMSE)، مثلاً مدل‌های انرژی ساختمان (ASHRAE Guideline 14)؛ فقط برای کمیت‌های مثبت |
| `nrmse_std` | rmse / std(y) | بی‌واحد | خطا نسبت به پراکندگی: √(1 − R²)؛ مقدار ۱ یعنی «بهتر از پیش‌بینی میانگین نیست» |
| `nrmse_iqr` | rmse / (Q3 − Q1) | بی‌واحد | مانند `nrmse_std` اما با مقیاسی که داده‌های پرت y آن را بزرگ نمی‌کنند |
| `rrmse` | rmse / mean(y) | بی‌واحد (اغلب ×100٪) | کشاورزی، بوم‌شناسی، سنجش از دور («زیر ۱۰٪ عالی، بالای ۳۰٪ ضعیف») |
| `rmsre` | √mean(((y − ŷ)/y)²) | بی‌واحد | وقتی خطای نسبی مهم است: قیمت‌ها، غلظت‌هایی که چند مرتبهٔ بزرگی را می‌پوشانند |

همه از آمارهای جامعهٔ مقادیر واقعی استفاده می‌کنند؛ `nrmse_iqr` صدک‌های پیش‌فرض numpy (خطی) را به کار می‌برد.
معیاری که مخرجش صفر است تعریف‌نشده است: `cnnlab theory losses` آن را `null` گزارش می‌کند و دلیلش را می‌گوید.

همان هفت خطا در شرایط مختلف؛ حالت پایه y = «loss_base_true» و ŷ = «loss_base_pred»
(`cnnlab theory losses --y-true ... --y-pred ...`):

«loss_table»

آنچه جدول در کنار MSE نشان می‌دهد:

- **واحد و مقیاس.** اندازه‌گیری با واحدی ۱۰۰۰ برابر کوچک‌تر، MSE را «units_mse_ratio» برابر و RMSE را
  «units_rmse_ratio» برابر می‌کند (MSE بر حسب مجذور واحد است، پس بدون دانستن مقیاس بزرگی‌اش چیز زیادی نمی‌گوید)،
  اما همهٔ معیارهای نرمال‌شده و نسبی ثابت می‌مانند («base_nrmse_range»، «base_nrmse_mean»، «base_nrmse_std»، …).
  به همین دلیل NRMSE و RRMSE برای مقایسهٔ مدل‌ها روی داده‌های مختلف به کار می‌روند.
- **انتقال.** افزودن 273.15 به همهٔ مقادیر (سلسیوس ← کلوین) MSE و RMSE و نسخه‌های برد/انحراف معیار/IQR را تغییر
  نمی‌دهد، اما `nrmse_mean`/`rrmse` را حدود ۱۲ برابر کوچک می‌کند («base_rrmse» ← «offset_rrmse») و `rmsre` را هم
  («base_rmsre» ← «offset_rmsre»): معیارهای نسبی به میانگین یا به مقدار، فقط روی مقیاس نسبتی با صفر واقعی معنا دارند.
- **داده‌های پرت در خطا.** یک پیش‌بینی با ۲۰ واحد خطا، MSE را «bad_mse_ratio» برابر و RMSE را «bad_rmse_ratio»
  برابر می‌کند: مجذورگیری باعث می‌شود بزرگ‌ترین خطاها غالب شوند (MAE بسیار کمتر رشد می‌کرد). همهٔ معیارهای مبتنی بر
  RMSE این رفتار را به ارث می‌برند، چون هر کدام RMSE تقسیم بر یک ثابتِ داده است.
- **داده‌های پرت در هدف.** یک مقدار واقعی برابر ۲۰۰ (با همان خطاها) برد و انحراف معیار را بزرگ می‌کند:
  `nrmse_range` «extreme_range_ratio» برابر بهتر به نظر می‌رسد («base_nrmse_range» ← «extreme_target_nrmse_range»)
  و `nrmse_std` «extreme_std_ratio» برابر، در حالی که خطاها یکسان‌اند. `nrmse_iqr` تغییری نمی‌کند
  («extreme_target_nrmse_iqr»).
- **مقادیر نزدیک صفر.** جابه‌جایی هدف‌ها به‌طوری که کوچک‌ترینشان 0.1 شود MSE را تغییر نمی‌دهد، اما `rmsre` از
  «base_rmsre» به «near_zero_rmsre» می‌پرد: یک خطای نسبی برابر ۱۲ غالب می‌شود. اگر یک مقدار واقعی دقیقاً صفر باشد (موقعیت
  «zero_positions» در سطر آخر)، تعریف‌نشده است و `cnnlab theory losses` همین را می‌گوید و `null` گزارش می‌کند. `nrmse_mean`/`rrmse` وقتی میانگین نزدیک صفر باشد همین مشکل را دارند (و با آن
  تغییر علامت می‌دهند).
- **رابطه با R².** در حالت پایه R² = 1 − mse/var(y) = «base_r2» و √(1 − R²) = «base_sqrt_1mr2» برابر
  `nrmse_std` («base_nrmse_std») است.

خلاصه: با MSE آموزش دهید (گرادیان هموار و خوش‌مقیاس)، RMSE را در واحد هدف گزارش کنید، و برای مقایسه بین
داده‌ها NRMSE با مخرجی متناسب با داده به کار ببرید: برد یا انحراف معیار برای هدف‌های کران‌دار و بدون داده‌ٔ پرت،
IQR وقتی هدف‌ها دادهٔ پرت دارند، میانگین (RRMSE) فقط برای کمیت‌های مثبت با صفر واقعی، و RMSRE فقط وقتی هیچ هدفی
نزدیک صفر نیست.

## ۵. توابع فعال‌سازی

![activations and their derivatives](«fig»/activations.png)

f و f′ هر تابع فعال‌سازی؛ f′ با autograd از خود ماژول torch (`cnnlab theory activations --out DIR`). پیش‌فرض‌ها:
شیب LeakyReLU برابر 0.01، شیب اولیهٔ PReLU برابر 0.25 (آموختنی)، شیب RReLU در آموزش برای هر عنصر از U(1/8, 1/3)
کشیده می‌شود (نقاط پراکنده) و در ارزیابی برابر میانگین 11/48 است، ELU با α = 1، SELU با λ ≈ 1.0507 و
α ≈ 1.6733، و GELU برابر x·Φ(x).

اندازه‌گیری روی «act_samples» نمونه از N(0, 1) (برد و همواری از خود ماژول روی یک شبکه از نقاط و دو طرف صفر؛
«انحراف معیار پس از «act_depth» لایه»: پشته‌ای از «act_depth» لایهٔ خطی با پهنای «act_width» و وزن‌های LeCun-normal
(واریانس 1/fan-in) که هر کدام با تابع فعال‌سازی دنبال می‌شود؛ زمان نسبی: سریع‌ترینِ «time_repeats» گذر رو به جلو + رو به عقب روی
«time_size» مقدار با یک رشته، وابسته به ماشین):

«act_table»

- **ReLU**: ارزان (یک مقایسه)، بدون اشباع برای x > 0، خروجی تُنُک؛ اما نیمی از ورودی‌ها گرادیان صفر می‌گیرند (این‌جا
  «relu_zero») و واحدی که ورودی‌اش منفی بماند دیگر یاد نمی‌گیرد («ReLU مرده»). خروجی‌اش صفرمحور نیست (میانگین
  «relu_mean»).
- **LeakyReLU / PReLU / RReLU**: شیب منفی کوچک برای x < 0 گرادیان نگه می‌دارد (واحد مرده ندارد)؛ PReLU شیب را
  یاد می‌گیرد (یک پارامتر اضافه)، RReLU آن را در آموزش برای منظم‌سازی تصادفی می‌کند و در ارزیابی شیب میانگین را
  به کار می‌برد — دو سطر جدول رفتار آموزش و ارزیابی را نشان می‌دهند.
- **ELU**: خروجی‌های منفی در −1 اشباع می‌شوند (میانگین «elu_mean»، نزدیک‌تر به صفر از ReLU)، با α = 1 در صفر C¹
  است؛ برای x < 0 به یک نمایی نیاز دارد (زمان اندازه‌گیری‌شده «elu_time» برابر ReLU).
- **SELU**: ELU مقیاس‌شده‌ای که λ و α ثابتش N(0, 1) را به میانگین «selu_mean» و انحراف معیار «selu_std» می‌برد؛ با
  وزن‌های LeCun-normal انحراف معیار پس از «act_depth» لایه «selu_deep_std» می‌ماند (خودنرمال‌سازی)، در حالی که با
  همین مقداردهی اولیه ReLU به «relu_deep_std» و GELU به «gelu_deep_std» سقوط می‌کنند (ReLU به مقداردهی He با
  واریانس 2/fan-in نیاز دارد). در صفر شکستگی دارد: f′ از λα به λ می‌رود، پرشی برابر «selu_jump».
- **GELU**: همه‌جا هموار، برای x < 0 کمی منفی (کمینه «gelu_lower»)، پیش‌فرض ترنسفورمرها؛ Φ یک تابع erf است
  (زمان اندازه‌گیری‌شده «gelu_time» برابر ReLU).

## ۶. Dropout، Dropout2d و Dropout3d

`nn.Dropout(p)` تک‌مقدارها را با احتمال p صفر می‌کند؛ `nn.Dropout2d(p)` کانال‌های کامل (یک نقشهٔ ویژگی H×W کامل از
یک نمونه) را در تانسور N×C×H×W صفر می‌کند؛ `nn.Dropout3d(p)` کانال‌های کامل (حجم‌های D×H×W) را در تانسور
N×C×D×H×W. مقادیر باقی‌مانده در 1/(1 − p) ضرب می‌شوند تا امید ریاضی ثابت بماند، و در حالت ارزیابی هر سه تابع
همانی‌اند. روی تانسوری از یک‌ها (`cnnlab theory demos`):

«dropout_table»

![Dropout vs Dropout2d](«fig»/dropout.png)

چرا کانال: فعال‌سازی‌های همسایه در یک نقشهٔ ویژگی به‌شدت همبسته‌اند، پس صفرکردن تک‌مقدارها تقریباً اطلاعاتی را
حذف نمی‌کند (همسایه‌ها آن را دارند) و شبکه مجبور نمی‌شود از تکیه بر یک ویژگی دست بکشد. حذف کل نقشه خود ویژگی را
حذف می‌کند و لایه‌های کانولوشنی را همان‌طور منظم می‌کند که dropout معمولی لایه‌های تمام‌متصل را. Dropout3d همین
کار را برای نقشه‌های ویژگی سه‌بعدی (ویدئو، تصاویر حجمی) می‌کند.

## ۷. نرمال‌سازی دسته‌ای

برای هر کانال c، روی دسته و همهٔ مکان‌ها، در حالت آموزش:

    y = γ_c · (x − μ_B) / √(σ²_B + ε) + β_c          μ_B, σ²_B: mean and biased variance of the batch
    running_mean ← (1 − m)·running_mean + m·μ_B,    running_var ← (1 − m)·running_var + m·σ²_B·n/(n − 1)

و در حالت ارزیابی همان فرمول با آمارهای جاری به‌جای آمار دسته. γ (`weight`) و β (`bias`) پارامترهای قابل‌آموزش‌اند
(با گرادیان کاهشی آموزش می‌بینند و با ۱ و ۰ مقداردهی می‌شوند)؛ آمارهای جاری بافر هستند («bn_buffers») و فقط با
میانگین‌گیری بالا به‌روز می‌شوند، هرگز با گرادیان.

`BatchNorm2d(3)` با تکانهٔ m = «bn_momentum»، ε = «bn_eps»، γ = «bn_gamma» و β = «bn_beta»، پس از «bn_updates» دستهٔ
آموزشی 8×3×4×4 با میانگین‌های کانال «bn_in_mean» و انحراف معیارهای «bn_in_std»:

- میانگین جاری «bn_running_mean» و واریانس جاری «bn_running_var»؛ محاسبهٔ دستی: «bn_running_mean_hand» و
  «bn_running_var_hand» (با شروع از ۰ و ۱، پس از «bn_updates» به‌روزرسانی هنوز از آمار داده دورند: با m = 0.1 ده‌ها
  دسته لازم است)؛
- خروجی حالت آموزش برای یک دستهٔ جدید: میانگین هر کانال «bn_train_mean» (= β) و انحراف معیار «bn_train_std»
  (= |γ|)، مستقل از مقیاس ورودی؛
- خروجی حالت ارزیابی برای همان دسته: میانگین «bn_eval_mean» و انحراف معیار «bn_eval_std» — متفاوت، چون از آمارهای
  جاری (هنوز نادقیق) استفاده می‌کند: به همین دلیل مدل باید برای استنتاج به `eval()` برده شود و نرمال‌سازی دسته‌ای با
  دسته‌های خیلی کوچک یا وقتی آمار آموزش و آزمون فرق دارند بد رفتار می‌کند؛
- بیشترین اختلاف torch و محاسبهٔ دستی: آموزش «bn_diff_train»، ارزیابی «bn_diff_eval».

γ و β به لایه اجازه می‌دهند هر جا مفید است نرمال‌سازی را خنثی کند (γ = σ و β = μ ورودی را بازمی‌گرداند)، پس
نرمال‌سازی توان بازنمایی شبکه را کم نمی‌کند.

## ۸. خودرمزگذار کانولوشنی

خودرمزگذار یاد می‌گیرد ورودی‌اش را از میان یک گلوگاه بازسازی کند: رمزگذار تصویر را به یک کد کوچک فشرده می‌کند،
رمزگشا تصویر را از آن می‌سازد، و تابع هزینه خطای بازسازی (MSE) است. لایه‌های کانولوشنی ساختار مکانی را حفظ
می‌کنند؛ کانولوشن‌های گام‌دار نمونه‌کاهی و کانولوشن‌های ترانهاده نمونه‌افزایی می‌کنند.
`src/cnnlab/theory/autoencoder.py`:

«ae_table»

«ae_params» پارامتر؛ کد «ae_code» عدد است، «ae_code_share»٪ از ۷۸۴ پیکسل. به‌صورت خودرمزگذار *حذف نویز* آموزش
دیده است: ورودی = تصویر + نویز گاوسی (انحراف معیار «ae_noise»، بریده‌شده به [0, 1])، هدف = تصویر تمیز. داده:
EMNIST («ae_train_images» تصویر آموزشی و «ae_test_images» تصویر آزمون از نمونه‌ای که همراه cnnlab است)،
«ae_epochs» دوره = «ae_steps» گام Adam با دسته‌های «ae_batch_size» تصویری (`cnnlab theory autoencoder --out DIR`).

| MSE روی داده‌های آزمون | مقدار |
|---|---|
| شبکهٔ آموزش‌ندیده | «ae_mse_untrained» |
| بازسازی تصاویر تمیز | «ae_mse_reconstruction» |
| ورودی نویزی در برابر تصویر تمیز | «ae_mse_noisy_input» |
| خروجی برای ورودی نویزی در برابر تصویر تمیز | «ae_mse_denoised» |

خروجی حذف نویز «ae_denoise_ratio» برابر از ورودی نویزی به تصویر تمیز نزدیک‌تر است.

![reconstructions](«fig»/reconstructions.png)

![denoising](«fig»/denoising.png)

کاربردها: فشرده‌سازی و یادگیری ویژگی بدون برچسب (کد به‌عنوان ورودی یک دسته‌بند)، حذف نویز، تشخیص ناهنجاری (خطای
بازسازی بزرگ ورودی‌ای را نشان می‌دهد که به داده‌های آموزش شبیه نیست)، پیش‌آموزش رمزگذار.

## ۹. کانولوشن متسع و اثر شطرنجی

کانولوشن متسع (atrous) با اتساع D، K ضریب خود را با فاصلهٔ D پیکسل پخش می‌کند: میدان به D(K − 1) + 1 می‌رسد بدون
پارامتر بیشتر یا کاهش وضوح (بدون pooling)؛ به همین دلیل شبکه‌های قطعه‌بندی (DeepLab) از آن استفاده می‌کنند. اما
روی هم گذاشتن لایه‌هایی با اتساع *یکسان* فقط پیکسل‌های روی یک شبکه با گام D را ترکیب می‌کند: ورودی‌های میان آن‌ها
هرگز دیده نمی‌شوند (gridding، اثر شطرنجی). اتساع‌های مختلط مانند ۱، ۲، ۵ (کانولوشن متسع ترکیبی، HDC) این شبکه را پر
می‌کنند. ورودی‌هایی که به یک خروجی از سه لایهٔ 3×3 می‌رسند، از روی گرادیان کانولوشن‌های متسع واقعی
(`cnnlab theory demos`؛ رنگ = تعداد مسیرها):

![gridding](«fig»/gridding.png)

«grid_table»

با اتساع ۲ در همهٔ لایه‌ها فقط «grid2_reached» پیکسل از «grid2_field» پیکسل میدان متصل‌اند؛ با اتساع‌های ۱، ۲، ۵ همهٔ
«grid5_reached» پیکسل از «grid5_field». قاعدهٔ مقالهٔ HDC: اتساع‌های لایه‌های پیاپی نباید عامل مشترک بزرگ‌تر از ۱
داشته باشند (۲، ۴، ۸ بد است)، و فاصلهٔ ضرایب یک لایه (اتساع آن) نباید از گستره‌ای که لایه‌های زیرین بدون حفره
می‌پوشانند بیشتر باشد.

## ۱۰. پس‌انتشار در کانولوشن یک‌بعدی

شبکه: z = conv1d(x, k) + b (هم‌بستگی متقابل معتبر: ۵ ورودی و ۳ ضریب ← ۳ مقدار)،
v₁ = max(z₁, z₂, 0)، v₂ = max(z₂, z₃, 0)، ŷ = w₁v₁ + w₂v₂ + a و L = ½(y − ŷ)².

    z_j = Σ_i k_i x_{j+i−1} + b
    ∂L/∂ŷ = ŷ − y = e,   ∂L/∂a = e,   ∂L/∂w_j = e·v_j,   ∂L/∂v_j = e·w_j
    ∂L/∂z_m = α_m = Σ over the pools j that z_m wins of ∂L/∂v_j
    ∂L/∂k_i = Σ_j α_j x_{j+i−1},   ∂L/∂b = Σ_j α_j,   ∂L/∂x_m = Σ_j α_j k_{m−j+1}

گرادیان هسته هم‌بستگی متقابل ورودی با α است؛ گرادیان ورودی کانولوشن *کامل* α با هسته است (α لایه‌گذاری‌شده و
هستهٔ وارونه). هر v_j گرادیانش را فقط به z‌ای می‌دهد که بیشینه بوده است؛ اگر بیشینه ۰ باشد (ReLU خاموش) هیچ
گرادیانی نمی‌دهد. تساوی: اگر z_j = z_{j+1} گرادیان به z_j می‌رود، و بیشینهٔ برابر ۰ گرادیانی عبور نمی‌دهد —
قراردادهای `max_pool1d` و `relu` در torch (relu′(0) = 0)، پس فرم بسته و autograd حتی در تساوی هم یکسان‌اند (آزموده
شده؛ آزمون‌های تصادفی تساوی ندارند).

مثال عددی (`cnnlab theory conv1d-backprop «ex_cli»`): x = «ex_x»، k = «ex_k»، b = «ex_b»، w = «ex_w»، a = «ex_a»،
y = «ex_y».

رو به جلو:

«ex_z_lines»
«ex_v_lines»
«ex_yhat_line»
    L = ½(«ex_y» − «ex_yhat»)² = «ex_loss»

رو به عقب (e = ŷ − y = «ex_e»؛ مسیر ادغام: «ex_winners»):

    ∂L/∂ŷ = ∂L/∂a = «ex_e»
    ∂L/∂w = e·v = «ex_dw»
    ∂L/∂v = e·w = «ex_dv»
    ∂L/∂z = α = «ex_dz»      («ex_no_grad» gets no gradient)
«ex_dk_lines»
    ∂L/∂b = Σ α_j = «ex_db»
«ex_dx_lines»

بررسی‌شده با autograd در torch (`F.conv1d`، `F.max_pool1d` و `F.relu` با float64): بیشترین اختلاف «ex_diff».
همین فرمول‌ها برای هر تعداد ورودی و ضریب برقرارند (`cnnlab.theory.conv1d.conv1d_grads`) و روی اندازه‌های تصادفی با
autograd آزموده شده‌اند.

</div>
"""

if __name__ == "__main__":
    sys.exit(main())
