"""cnnlab: convolutional-network experiments, one command each; faces and expressions from Python
(docs/python-api.md).

The Python API is loaded on first use (module `__getattr__`), so `import cnnlab` loads neither torch, OpenCV nor
pandas: `cnnlab.ExpressionRecognizer`, `cnnlab.plot_expressions`, `cnnlab.summarize_expressions`, and the
exception type of every error cnnlab reports, `cnnlab.CnnlabError`.
"""

__version__ = "0.1.0"

_LAZY = {"ExpressionRecognizer": "cnnlab.live.api", "Face": "cnnlab.live.api", "FaceOptions": "cnnlab.live.options",
         "plot_expressions": "cnnlab.live.chart", "summarize_expressions": "cnnlab.live.table",
         "CnnlabError": "cnnlab.errors", "UsageError": "cnnlab.errors", "DataError": "cnnlab.errors"}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
