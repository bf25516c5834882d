"""`cnnlab live`, the loop: frames from a camera, a video or an image -> the pipeline (cnnlab.live.model) ->
annotated frames, written to a window, a video/image file, a JSON-lines log, a CSV table and a chart
(cnnlab.live.media, .table, .chart). `frames` is the loop itself, shared with `ExpressionRecognizer.analyze_video`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from cnnlab.errors import DataError, UsageError
from cnnlab.live.annotate import draw
from cnnlab.live.media import IMAGE_EXTS, FpsMeter, JsonLog, VideoOut, Window, open_capture, read_image, write_image
from cnnlab.live.model import Pipeline, build_pipeline
from cnnlab.live.options import FaceOptions
from cnnlab.live.table import Rows, shares, write_csv


def frames(cap: cv2.VideoCapture, pipe: Pipeline, video_fps: float | None, max_frames: int | None = None,
           duration: float | None = None):
    """Yield (frame number, time in seconds, frame, faces) until the video ends (or a frame cannot be read),
    `max_frames` or `duration` (seconds of video, or of camera time). The time is the frame's place in the video
    (number / video_fps), or for a camera (video_fps None) the time since the first frame was asked for."""
    n, start = 0, time.perf_counter()
    while max_frames is None or n < max_frames:
        elapsed = n / video_fps if video_fps else time.perf_counter() - start
        if duration is not None and elapsed >= duration:
            return
        ok, frame = cap.read()
        if not ok:
            return
        t = n / video_fps if video_fps else time.perf_counter() - start
        yield n, t, frame, pipe(frame)
        n += 1


def frame_rate(cap: cv2.VideoCapture, is_video: bool) -> float | None:
    """A video's own frame rate (25 where the file does not say), None for a camera (measured while recording)."""
    if not is_video:
        return None
    fps = cap.get(cv2.CAP_PROP_FPS)
    return fps if fps and 0 < fps < 1000 else 25.0


def run(args) -> dict:
    """`cnnlab live`: check the source and outputs, load the model, process; returns the summary."""
    options = FaceOptions.from_args(args)
    if sum(x is not None for x in (args.camera, args.video, args.image)) > 1:
        raise UsageError("give one source: --camera N, --video FILE or --image FILE")
    if args.image is None and args.camera is None and args.video is None:
        args.camera = 0
    if args.image is not None and args.out and Path(args.out).suffix.lower() not in IMAGE_EXTS:
        raise UsageError(f"--out {args.out}: with --image, write an image ({', '.join(sorted(IMAGE_EXTS))})")
    if args.whole_image and args.image is None:
        raise UsageError("--whole-image classifies one image file as a face: give it with --image FILE")
    for name in ("csv", "chart"):
        if getattr(args, name) and args.image is not None:
            raise UsageError(f"--{name} is the table of a video or camera over time; for --image, use --log FILE")
    if args.csv and Path(args.csv).suffix.lower() != ".csv":
        raise UsageError(f"--csv {args.csv}: name the table FILE.csv")
    if args.chart and Path(args.chart).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise UsageError(f"--chart {args.chart}: a chart is written as .png, .svg or .pdf")
    frame = read_image(args.image) if args.image is not None else None  # bad input fails before the model loads
    cap, name = (None, args.image) if frame is not None else open_capture(args.camera, args.video)
    try:
        window = open_window(args)
        pipe, info = build_pipeline(options, still=frame is not None)
    except Exception:
        if cap is not None:
            cap.release()
        raise
    if frame is not None:
        return run_image(args, frame, pipe, info, window)
    return run_stream(args, cap, name, pipe, info, window)


def keeps_results(args) -> bool:
    return bool(args.out or args.log or args.csv or args.chart)


def open_window(args) -> Window | None:
    """A window unless --no-window, or a file goes in and files take the results. Where no window can open: a
    still image prints its result without a word (its result line is the answer), a stream that keeps its results
    in files says so once, a stream with nowhere to go is an error that says how."""
    if args.no_window:
        return None
    if (args.image is not None or args.video is not None) and keeps_results(args):
        return None
    try:
        return Window()
    except UsageError:
        if args.image is not None:
            return None
        if not keeps_results(args):
            raise
        print("no display here: no window (results go to stdout and the files asked for)", file=sys.stderr)
        return None


def no_face_hint(width: int, height: int, min_face: int, detector: str, whole: str = "--whole-image") -> str:
    """Why no face was found in a still image of `width`×`height` px (shared by `live --image` and the page)."""
    if min(height, width) < 2 * min_face or min(height, width) <= 96:
        return (f"the image is only {width}×{height} px; if it is already a face crop (like the 48×48 FER-2013 "
                f"images), {whole}")
    return (f"faces smaller than --min-face {min_face} px are not looked for (lower it for small faces), and a face "
            f"turned away or half hidden can be missed (try --detector {'haar' if detector == 'yunet' else 'yunet'})")


def run_image(args, frame: np.ndarray, pipe: Pipeline, info: dict, window: Window | None) -> dict:
    faces = pipe.whole(frame) if args.whole_image else pipe(frame)
    record = {"frame": 0, "faces": faces}
    print(json.dumps({"file": args.image, **record}))
    if not faces:
        h, w = frame.shape[:2]
        raise DataError(f"--image {args.image}: no face found; "
                        + no_face_hint(w, h, pipe.detector.min_face, args.detector, "add --whole-image"))
    draw(frame, faces, bars=not args.no_bars)
    if args.out:
        write_image(args.out, frame)
    summary = {"frames": 1, "fps": None, "frames_with_faces": int(bool(faces)), "faces": len(faces),
               "expressions": shares([f["label"] for f in faces], info["classes"]), "source": args.image, **info}
    if args.log:
        log = JsonLog(args.log)
        log.write(record)
        log.write({"summary": summary})
        log.close()
    if window:
        window.show(frame, wait=True)
        window.close()
    return summary


def run_stream(args, cap: cv2.VideoCapture, name: str, pipe: Pipeline, info: dict, window: Window | None) -> dict:
    """Frame by frame until the video ends, --duration/--max-frames, q/Esc in the window or Ctrl-C; the outputs
    are finished in every one of these cases. Where nothing keeps the results (no window, --out, --log, --csv or
    --chart), each frame's faces are printed as JSON lines."""
    video_fps = frame_rate(cap, args.video is not None)
    out = VideoOut(args.out, video_fps) if args.out else None
    log = JsonLog(args.log) if args.log else None
    rows = Rows(info["classes"])
    echo = window is None and not keeps_results(args)
    meter, n, n_faces, with_faces = FpsMeter(), 0, 0, 0
    start = time.perf_counter()
    try:
        for i, t, frame, faces in frames(cap, pipe, video_fps, args.max_frames, args.duration):
            n += 1
            record = {"frame": i, "time_s": round(t, 3), "faces": faces}
            rows.add(i, t, faces)
            n_faces += len(faces)
            with_faces += bool(faces)
            if echo:
                print(json.dumps(record))
            if log:
                log.write(record)
            if out or window:
                draw(frame, faces, meter.tick(), bars=not args.no_bars)
            if out:
                out.write(frame, time.perf_counter() - start)
            if window and not window.show(frame):
                break
    except KeyboardInterrupt:  # Ctrl-C ends a camera recording: keep what was recorded
        print("stopped", file=sys.stderr)
    finally:
        cap.release()
        if window:
            window.close()
    seconds = time.perf_counter() - start
    summary = {"frames": n, "seconds": round(seconds, 2), "fps": round(n / seconds, 2) if seconds > 0 else None,
               "video_fps": round(video_fps, 2) if video_fps else (round(n / seconds, 2) if seconds > 0 else None),
               "video_seconds": round(n / video_fps, 2) if video_fps else round(seconds, 2),
               "frames_with_faces": with_faces, "faces": n_faces,
               "expressions": shares([r[7] for r in rows.rows], info["classes"]), "source": name,
               "ms_per_frame": {k: round(1000 * v / max(n, 1), 2) for k, v in pipe.times.items()}, **info}
    if out:
        out.close()
        summary.update(out=str(args.out), out_fps=out.fps)
    if log:
        log.write({"summary": summary})
        log.close()
    if n == 0:
        raise DataError(f"{name}: no frames could be read")
    if args.csv or args.chart:
        table = rows.table()
        if args.csv:
            write_csv(table, args.csv)
            summary["csv"] = str(args.csv)
        if args.chart:
            from cnnlab.live.chart import plot_expressions
            plot_expressions(table, args.chart)
            summary["chart"] = str(args.chart)
    print(json.dumps({"summary": summary}))
    return summary
