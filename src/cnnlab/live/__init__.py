"""Live expression recognition: webcam, video or image (`cnnlab live`), a browser page (`cnnlab serve`) and the
Python API (`cnnlab.ExpressionRecognizer`, docs/python-api.md)."""

from cnnlab.live.options import DEFAULT_MODEL  # noqa: F401
