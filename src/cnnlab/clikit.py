"""What every cnnlab sub-command's parser shares: the parser class, the help layout, checked number types and
the --device option. Standard library only, so that `cnnlab --help` starts at once."""

from __future__ import annotations

import argparse
import re

# A negative number or a comma-separated list of numbers that starts with one ("-1", "-1.5e-3", "-1,2,-3"):
# a value, never an option, so `--y-true -1,2` works without writing `--y-true=-1,2`.
_NUMBER = r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
NEGATIVE_NUMBERS = re.compile(rf"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?(\s*[,;]\s*{_NUMBER})*[,;]?$")


class Parser(argparse.ArgumentParser):
    """argparse with negative-number lists taken as values. Sub-parsers inherit the class."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBERS


class Formatter(argparse.HelpFormatter):
    """Help that tells the truth: '(required)' for a required option, '(default: X)' only for a real default
    (never None or False), and nothing more where the help text already says its default."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        """Descriptions and epilogs keep their line breaks; each line is wrapped (indented lines hang)."""
        import textwrap
        lines = []
        for line in text.splitlines():
            body = line.lstrip(" ")
            pad = indent + " " * (len(line) - len(body))
            lines.append(textwrap.fill(" ".join(body.split()), width, initial_indent=pad,
                                       subsequent_indent=pad + ("    " if pad != indent else "")) if body else "")
        return "\n".join(lines)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text.lower():  # the text says its default itself
            return text
        if action.required and action.option_strings:
            return f"{text} (required)"
        if action.default is None or action.default is False or action.default == argparse.SUPPRESS \
                or action.default == []:
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            return f"{text} (default: %(default)s)"
        return text


def _number(kind, text: str, test, what: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value != value or not test(value):  # NaN fails every test
        raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
    return value


def positive_int(text: str) -> int:
    return _number(int, text, lambda v: v > 0, "a positive integer")


def nonneg_int(text: str) -> int:
    return _number(int, text, lambda v: v >= 0, "an integer >= 0")


def positive_float(text: str) -> float:
    return _number(float, text, lambda v: 0 < v < float("inf"), "a positive number")


def nonneg_float(text: str) -> float:
    return _number(float, text, lambda v: 0 <= v < float("inf"), "a number >= 0")


def port(text: str) -> int:
    return _number(int, text, lambda v: 0 <= v <= 65535, "a port number in 0..65535")


DEVICES = ("auto", "cpu", "cuda")
DEVICE_HELP = "auto = cuda when available"


def add_device(p, help: str = DEVICE_HELP) -> None:
    """The same --device (choices, default and help) on every command."""
    p.add_argument("--device", default="auto", choices=DEVICES, help=help)
