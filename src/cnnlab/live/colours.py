"""One colour per FER-2013 expression, the same everywhere in cnnlab: boxes and bars on frames (OpenCV, BGR), the
page (`cnnlab serve` gets them from /api/info) and the charts of expressions over time (matplotlib). Other class
names get a grey."""

from __future__ import annotations

COLOURS = {"angry": "#dc2828", "disgust": "#288c28", "fear": "#a03ca0", "happy": "#ffc800", "neutral": "#c8c8c8",
           "sad": "#2878c8", "surprise": "#ff8c00"}
OTHER = "#b4b4b4"


def hex_colour(label: str) -> str:
    return COLOURS.get(label, OTHER)


def bgr(label: str) -> tuple[int, int, int]:
    h = hex_colour(label)
    return int(h[5:7], 16), int(h[3:5], 16), int(h[1:3], 16)
