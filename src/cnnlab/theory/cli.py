"""`cnnlab theory ...`: the calculators and demonstrations of cnnlab.theory.

Every handler imports what it needs (torch, matplotlib) inside itself, so `cnnlab --help` stays fast.
"""

from __future__ import annotations

import json
import sys

from cnnlab.clikit import Formatter, nonneg_float, positive_int
from cnnlab.errors import UsageError


def _print_json(obj) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False))


def _ints(text: str, option: str, count: int | None = None) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise UsageError(f"{option}: expected comma-separated integers, got {text!r}") from None
    if not values or (count is not None and len(values) != count):
        raise UsageError(f"{option}: expected {count or 'one or more'} comma-separated integers, got {text!r}")
    return values


def run_layers(args) -> int:
    from cnnlab.theory import layers

    spec = " ".join(args.spec)
    result = layers.summary(spec, args.input)
    if args.json:
        _print_json(result)
    else:
        print(layers.format_table(result))
    return 0


def run_receptive_field(args) -> int:
    from cnnlab.theory import receptive_field as rf

    dilation = _ints(args.dilation, "--dilation")
    stride = _ints(args.stride, "--stride")
    result = rf.receptive_field(args.layers, args.kernel, dilation, stride, args.padding,
                                tuple(_ints(args.at, "--at", 2)))
    if args.json:
        _print_json(result)
    else:
        print(rf.format_result(result))
    return 0


def run_conv_output(args) -> int:
    from cnnlab.theory import receptive_field as rf

    result = rf.conv_output(args.input, args.kernel, args.filters, args.dilation, args.stride, args.padding,
                            args.channels)
    if args.json:
        _print_json(result)
    else:
        h, w, m = result["output"]
        print(f"output: {h}x{w}x{m}   ({result['size_formula']})")
        print(f"params: {result['params']}   ({result['params_formula']})")
    return 0


def run_conv1d_backprop(args) -> int:
    from cnnlab.theory import conv1d
    from cnnlab.theory.losses import parse_numbers

    values = dict(x=parse_numbers(args.x, "--x"), k=parse_numbers(args.k, "--k"), b=args.b,
                  w=parse_numbers(args.w, "--w"), a=args.a, y=args.y)
    mine = conv1d.forward_backward(**values)
    diff = conv1d.max_abs_diff(mine, conv1d.autograd(**values))
    ok = diff <= 1e-9
    if args.json:
        _print_json({**mine, "autograd_max_abs_diff": diff, "verified": ok})
    else:
        print(conv1d.format_result(mine))
        print(f"verified against autograd: max abs diff {diff:.3g}" + ("" if ok else "  MISMATCH"))
    return 0 if ok else 1


def run_losses(args) -> int:
    from cnnlab.theory import losses

    result = losses.regression_losses(losses.parse_numbers(args.y_true, "--y-true"),
                                      losses.parse_numbers(args.y_pred, "--y-pred"))
    if args.json:
        _print_json(result)
    else:
        print(losses.format_result(result))
        if result["nrmse_mean"] is not None:
            print("note: nrmse_mean and rrmse are the same formula, rmse / mean(y_true), under the two names the "
                  "literature uses; nrmse_range, nrmse_std and nrmse_iqr divide by other scales")
    return 0


def run_activations(args) -> int:
    from cnnlab.theory import activations

    props = activations.write(args.out, seed=args.seed, time_it=not args.no_timing)
    if args.json:
        _print_json(props)
    else:
        relative = {name: row["relative_time"] for name, row in props.items() if "relative_time" in row}
        deep = f"deep_std_after_{activations.DEPTH}"  # the column says how its stack was initialised
        print(activations.markdown_table(props, relative or None,
                                         {deep: f"std after {activations.DEPTH} layers (LeCun-normal weights)"}))
    print(f"wrote {args.out}/activations.png, activations.md, activations.json",
          file=sys.stderr if args.json else sys.stdout)
    return 0


def run_demos(args) -> int:
    from cnnlab.theory import demos

    result = demos.run_all(args.out, seed=args.seed)
    if args.json:
        _print_json(result)
    else:
        print(demos.format_result(result))
        if args.out:
            print(f"wrote {args.out}/demos.json, gridding.png, dropout.png")
    return 0


def run_autoencoder(args) -> int:
    from cnnlab.theory import autoencoder as ae

    train = ae.load_images(args.data, "train", args.limit_train)
    test = ae.load_images(args.data, "test", args.limit_test)
    source = f"EMNIST from {args.data}" if args.data else "EMNIST sample shipped with cnnlab"
    result = ae.run(args.out, train, test, epochs=args.epochs, batch_size=args.batch_size, noise=args.noise,
                    seed=args.seed, source=source)
    if args.json:
        _print_json(result)
    else:
        print(ae.format_result(result))
    print(f"wrote {args.out}/reconstructions.png, denoising.png, autoencoder.json, autoencoder.pt",
          file=sys.stderr if args.json else sys.stdout)
    return 0


def conv1d_example() -> dict:
    from cnnlab.theory.conv1d import EXAMPLE  # pure Python, cheap to import
    return EXAMPLE


def register(subparsers) -> None:
    theory = subparsers.add_parser("theory", formatter_class=Formatter,
                                   help="the theory questions: layer tables, receptive field, output size, "
                                        "1D-conv gradients, losses, activations, demos, autoencoder",
                                   description="Calculators and demonstrations for the theory questions; every "
                                               "number comes from code that the tests check against torch.")
    sub = theory.add_subparsers(dest="theory_command", required=True, metavar="WHAT")

    def add(name, func, help, description=None):
        p = sub.add_parser(name, help=help, description=description or help, formatter_class=Formatter)
        p.set_defaults(func=func)
        return p

    p = add("layers", run_layers, "output size and parameters of every layer of a spec",
            "Output size and learnable parameters of every layer. Spec items (separated by spaces, commas or "
            "'->'): CONVx-N(S,P) = N filters x*x*D, stride S, padding P (both 1 when not given); POOL-n = max "
            "pool n*n stride n; BATCHNORM; an activation (ReLU, LeakyReLU, PReLU, ELU, SELU, GELU, ...); "
            "FLATTEN; FC-N; DROPOUT. The assignment's notation is accepted as written, e.g. 'Input 32×32×3, CONV3-8, "
            "ReLU, POOL-2, BATCHNORM, CONV5-16(3, 2), ...' (CONV5-16(3, 2): stride 3, padding 2). Batch norm's "
            "running mean/var are listed as non-trainable.")
    p.add_argument("spec", nargs="+",
                   help="the layers, e.g. \"CONV3-8 ReLU POOL-2 BATCHNORM CONV5-16(3, 2) ReLU POOL-2 "
                        "FLATTEN FC-10\" (may start with the input row: \"Input 32×32×3 ...\")")
    p.add_argument("--input", help="input size HxWxC (default: the spec's Input row, else 32x32x3)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")

    p = add("receptive-field", run_receptive_field, "receptive field of stacked (dilated) convolutions",
            "Receptive field of L stacked KxK convolutions with dilation D and stride S, and the input rows and "
            "columns that output (i, j) sees.")
    p.add_argument("--layers", type=int, default=3, help="number of stacked conv layers L")
    p.add_argument("--kernel", type=int, default=3, help="kernel side K")
    p.add_argument("--dilation", default="2", help="dilation D, or one per layer like 1,2,5")
    p.add_argument("--stride", default="1", help="stride S, or one per layer")
    p.add_argument("--padding", type=int, default=0, help="padding P of every layer (shifts the input range)")
    p.add_argument("--at", default="0,0", help="output element i,j whose input range to print")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add("conv-output", run_conv_output, "output size and parameters of one convolution",
            "Output size and parameter count (K·K·C·M + M) of one Conv2d on an NxNxC input.")
    p.add_argument("--input", type=int, default=32, help="input side N")
    p.add_argument("--kernel", type=int, default=3, help="kernel side K")
    p.add_argument("--dilation", type=int, default=1, help="dilation D")
    p.add_argument("--filters", type=int, default=8, help="number of filters M")
    p.add_argument("--stride", type=int, default=1, help="stride S")
    p.add_argument("--padding", type=int, default=0, help="zero padding P on every side")
    p.add_argument("--channels", type=int, default=3, help="input channels C")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add("conv1d-backprop", run_conv1d_backprop, "closed-form gradients of the 1D-conv network",
            "z = conv1d(x, k) + b (valid cross-correlation); v_j = max(z_j, z_{j+1}, 0); y_hat = w·v + a; "
            "L = (y - y_hat)^2 / 2. Prints y_hat, L and every gradient from the hand-derived formulas and checks "
            "them against torch autograd (exit 1 on disagreement). Ties: z_j = z_{j+1} sends the gradient to "
            "z_j; a pool whose max is <= 0 passes none (torch's max_pool1d and relu conventions).")
    ex = conv1d_example()
    csv = lambda v: ",".join(f"{u:g}" for u in v)  # noqa: E731
    p.add_argument("--x", default=csv(ex["x"]), help="inputs x1,...,xn (comma-separated)")
    p.add_argument("--k", default=csv(ex["k"]), help="kernel taps k1,...,kt")
    p.add_argument("--b", type=float, default=ex["b"], help="conv bias b")
    p.add_argument("--w", default=csv(ex["w"]), help="output weights w1,...,w_{n-t} (one per pooled value)")
    p.add_argument("--a", type=float, default=ex["a"], help="output bias a")
    p.add_argument("--y", type=float, default=ex["y"], help="target y")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add("losses", run_losses, "MSE, RMSE, normalized RMSEs, RRMSE and RMSRE",
            "mse, rmse, nrmse_range (rmse/(max-min)), nrmse_mean (rmse/mean), nrmse_std (rmse/population std), "
            "nrmse_iqr (rmse/IQR), rrmse (rmse/mean(y_true)), rmsre (sqrt mean ((y-y_hat)/y)^2). A metric with a "
            "zero denominator is reported as undefined (null in JSON). nrmse_mean and rrmse are one formula under "
            "two names.")
    p.add_argument("--y-true", required=True, help="true values, comma-separated")
    p.add_argument("--y-pred", required=True, help="predictions, comma-separated, as many as --y-true")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add("activations", run_activations, "plots and property table of ReLU-family activations",
            "Writes activations.png (f and f' by autograd), activations.md and activations.json (range, "
            "smoothness, output mean/std on N(0,1), zero-gradient fraction, deep-stack std, relative time).")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--seed", type=int, default=0, help="random seed of the measurements")
    p.add_argument("--no-timing", action="store_true", help="skip the (machine-dependent) timing column")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")

    p = add("demos", run_demos, "dropout vs dropout2d/3d, batch norm statistics, gridding of dilated convs")
    p.add_argument("--out", help="folder for demos.json and the figures (none: print only)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add("autoencoder", run_autoencoder, "train a small convolutional denoising autoencoder on EMNIST",
            "Trains the autoencoder of cnnlab.theory.autoencoder (noisy input -> clean target) and writes "
            "reconstructions.png, denoising.png, autoencoder.json (test MSEs) and autoencoder.pt.")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--data",
                   help="EMNIST folder (docs/datasets.md shows its layout); default: the sample shipped with cnnlab")
    p.add_argument("--epochs", type=positive_int, default=3, help="passes over the training images")
    p.add_argument("--batch-size", type=positive_int, default=64, help="mini-batch size")
    p.add_argument("--noise", type=nonneg_float, default=0.3, help="std of the Gaussian noise added to the inputs")
    p.add_argument("--limit-train", type=positive_int, default=8000, help="use at most this many training images")
    p.add_argument("--limit-test", type=positive_int, default=1000, help="use at most this many test images")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--json", action="store_true", help="print JSON instead of the summary")
