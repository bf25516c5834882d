"""Where frames come from and where results go: cameras, video files and images in; annotated videos and images,
JSON-lines logs and a window out. Every file is written to a temporary name and renamed into place."""

from __future__ import annotations

import glob
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from cnnlab.atomic import atomic_write_bytes, temp_path
from cnnlab.errors import DataError, UsageError

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4": "avc1", ".webm": "VP90", ".avi": "MJPG", ".mkv": "MJPG", ".mov": "mp4v"}
BROWSER_VIDEO = {".mp4": ("mp4", "libx264"), ".webm": ("webm", "libvpx-vp9")}  # (container, encoder) for PyAV


def cameras() -> list[str]:
    return sorted(glob.glob("/dev/video*"))


def open_capture(camera: int | None, video: str | None, names=("--camera", "--video")) -> tuple[cv2.VideoCapture, str]:
    """An opened camera or video file and its name; `names`: how messages call the two (options or arguments)."""
    if video is not None:
        video = str(video)
        if not Path(video).is_file():
            raise DataError(f"{names[1]} {video}: no such file")
        cap = cv2.VideoCapture(video)
        if not cap.isOpened() or not cap.grab():
            raise DataError(f"{names[1]} {video}: OpenCV cannot read this video (unsupported, damaged or empty file); "
                            "convert it to MP4, e.g. 'ffmpeg -i IN -c:v libx264 out.mp4'")
        cap.release()
        return cv2.VideoCapture(video), video
    if isinstance(camera, bool) or not isinstance(camera, int) or camera < 0:  # OpenCV crashes on some
        raise UsageError(f"{names[0]} {camera}: a camera is a number >= 0 (0 = the first camera)")
    log = cv2.utils.logging
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_ERROR)  # our message below replaces OpenCV's warnings
    try:
        cap = cv2.VideoCapture(camera)
        ok = cap.isOpened() and cap.read()[0]
    finally:
        log.setLogLevel(level)
    if not ok:
        cap.release()
        found = cameras()
        have = (f"cameras here: {', '.join(found)}" if found else "no /dev/video* device here") \
            if sys.platform.startswith("linux") else "none found"
        raise UsageError(f"{names[0]} {camera}: cannot open this camera ({have}); pick another camera number, or "
                         "use --video FILE or --image FILE")
    cap.set(cv2.CAP_PROP_FRAME_WIDTH, 640)
    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, 480)
    return cap, f"camera {camera}"


def read_image(path: str, name: str = "--image") -> np.ndarray:
    """A BGR image; `name`: how messages call it (the option, or the argument)."""
    if not Path(path).is_file():
        raise DataError(f"{name} {path}: no such file")
    frame = cv2.imread(path, cv2.IMREAD_COLOR)
    if frame is None:
        raise DataError(f"{name} {path}: not a readable image (PNG, JPEG, BMP, WebP, TIFF)")
    return frame


def write_image(path: str | Path, frame: np.ndarray) -> None:
    """Atomically: encode, write a temporary file, rename."""
    path = Path(path)
    ok, buf = cv2.imencode(path.suffix, frame)
    if not ok:
        raise UsageError(f"--out {path}: cannot write this image format; use .png or .jpg")
    atomic_write_bytes(path, buf.tobytes())


class AvWriter:
    """A video a browser plays, written by PyAV (FFmpeg): H.264 in .mp4, VP9 in .webm, yuv420p. OpenCV's pip
    wheels write only MPEG-4 Part 2 into .mp4, which Chromium and Firefox refuse."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int]):
        import fractions

        import av
        self.container = av.open(str(path), mode="w", format=BROWSER_VIDEO[path.suffix.lower()][0])
        rate = fractions.Fraction(fps).limit_denominator(1001)
        self.stream = self.container.add_stream(BROWSER_VIDEO[path.suffix.lower()][1], rate=rate)
        self.stream.width, self.stream.height = size[0] - size[0] % 2, size[1] - size[1] % 2  # 4:2:0 needs even
        self.stream.pix_fmt = "yuv420p"
        self.av = av

    def isOpened(self) -> bool:  # noqa: N802  (cv2.VideoWriter's name)
        return True

    def write(self, frame: np.ndarray) -> None:
        frame = np.ascontiguousarray(frame[: self.stream.height, : self.stream.width])
        for packet in self.stream.encode(self.av.VideoFrame.from_ndarray(frame, format="bgr24")):
            self.container.mux(packet)

    def release(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        self.container.close()


class VideoOut:
    """An annotated video, renamed into place on `close`. With `fps=None` (a camera) the first second is buffered
    to measure the real frame rate, so a one-minute recording plays for one minute. .mp4 and .webm are written so
    that browsers play them (AvWriter), .avi/.mkv/.mov by OpenCV (MJPG, MPEG-4)."""

    def __init__(self, path: str | Path, fps: float | None):
        self.path = Path(path)
        if self.path.suffix.lower() not in VIDEO_EXTS:
            raise UsageError(f"--out {path}: a video needs one of {sorted(VIDEO_EXTS)} (an image one of "
                             f"{sorted(IMAGE_EXTS)} goes with --image)")
        self.tmp, self.fps, self.writer, self.buffer, self.frames = temp_path(self.path), fps, None, [], 0

    def _open(self, size) -> None:
        suffix = self.path.suffix.lower()
        if suffix in BROWSER_VIDEO:
            self.writer = AvWriter(self.tmp, float(self.fps), size)
            return
        fourcc = cv2.VideoWriter_fourcc(*VIDEO_EXTS[suffix])
        self.writer = cv2.VideoWriter(str(self.tmp), fourcc, float(self.fps), size)
        if not self.writer.isOpened():
            raise UsageError(f"--out {self.path}: OpenCV cannot write this video format here; try .mp4 or .avi")

    def write(self, frame: np.ndarray, t: float) -> None:
        self.frames += 1
        if self.writer is None:
            self.buffer.append((frame.copy(), t))
            if self.fps is None and t - self.buffer[0][1] < 1.0:
                return
            self._flush()
            return
        self.writer.write(frame)

    def _flush(self) -> None:
        if self.fps is None:
            span = self.buffer[-1][1] - self.buffer[0][1]
            self.fps = round((len(self.buffer) - 1) / span, 2) if span > 0 else 30.0
        self._open((self.buffer[0][0].shape[1], self.buffer[0][0].shape[0]))
        for f, _ in self.buffer:
            self.writer.write(f)
        self.buffer = []

    def close(self) -> None:
        if self.writer is None and self.buffer:
            self._flush()
        if self.writer is not None:
            self.writer.release()
            os.replace(self.tmp, self.path)


class JsonLog:
    """One JSON object per line; written to a temporary file and renamed into place on `close`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tmp = temp_path(self.path)
        self.f = open(self.tmp, "w")

    def write(self, obj: dict) -> None:
        self.f.write(json.dumps(obj) + "\n")

    def close(self) -> None:
        self.f.close()
        os.replace(self.tmp, self.path)


class Window:
    """An on-screen window: OpenCV's if it was built with a GUI (opencv-python), else matplotlib's (the headless
    OpenCV wheel has none). `show` returns False once the user closed it or pressed q / Esc."""

    def __init__(self, title: str = "cnnlab live (q to quit)"):
        self.title, self.plt, self.im = title, None, None
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error:
            import matplotlib
            if matplotlib.get_backend().lower() in ("agg", "pdf", "ps", "svg", "cairo", "template"):
                raise UsageError("no window can be opened here (no display, and this OpenCV has no GUI); use "
                                 "--no-window with --out FILE / --log FILE, or 'cnnlab serve' for a browser "
                                 "page") from None
            import matplotlib.pyplot as plt
            self.plt = plt

    def show(self, frame: np.ndarray, wait: bool = False) -> bool:
        if self.plt is None:
            cv2.imshow(self.title, frame)
            key = cv2.waitKey(0 if wait else 1) & 0xFF
            return key not in (ord("q"), 27) and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        rgb = frame[:, :, ::-1]
        if self.im is None:
            self.plt.ion()
            fig = self.plt.figure(self.title)
            self.im = self.plt.imshow(rgb)
            self.plt.axis("off")
            fig.canvas.mpl_connect("key_press_event", lambda e: e.key in ("q", "escape") and self.plt.close(fig))
        else:
            self.im.set_data(rgb)
        if wait:
            self.plt.ioff()
            self.plt.show()
            return False
        self.plt.pause(0.001)
        return bool(self.plt.get_fignums())

    def close(self) -> None:
        if self.plt is None:
            cv2.destroyAllWindows()
        else:
            self.plt.close("all")


class FpsMeter:
    """Frames per second over the intervals between frames, smoothed (exponential moving average)."""

    def __init__(self, alpha: float = 0.1):
        self.alpha, self.last, self.fps = alpha, None, None

    def tick(self) -> float | None:
        now = time.perf_counter()
        if self.last is not None and now > self.last:
            rate = 1.0 / (now - self.last)
            self.fps = rate if self.fps is None else (1 - self.alpha) * self.fps + self.alpha * rate
        self.last = now
        return self.fps
