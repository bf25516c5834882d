"""Speed checks: how fast something runs (frames, images or seconds); no accuracy."""
