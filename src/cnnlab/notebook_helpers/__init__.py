"""What the assignment notebooks import (and nothing else of cnnlab does, but the hand-in builder's webcam note):
start.py (budget, folders, run a command, show a figure), reuse.py, best.py, discuss.py, filters.py, tbcurves.py,
webcam.py. The builder of the hand-in, which runs the notebooks, is cnnlab/handin/."""
