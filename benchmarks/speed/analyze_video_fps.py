"""Frames per second of `cnnlab.ExpressionRecognizer.analyze_video` (the Python API: a video as a table), on a
640×480 video with one face: real FER-2013 test faces (upscaled ×3, moving a little, changing every 30 frames) on a
plain background, as an MJPG video. The target (issue 20): at least 60 frames/s on this CPU, and the table must
not slow the pipeline, so the same frames also go through the bare pipeline (`recognizer.stream()`, no table).

    PYTHONPATH=src python -m benchmarks.speed.analyze_video_fps [--model fer2013-vgg] [--frames 600] [--repeat 3]
                                                          [--out-dir DIR]

Writes benchmarks/results/analyze_video_fps_cpu.json (or DIR/analyze_video_fps_cpu.json). Wall-clock figures
depend on what else the machine runs: record them on an idle CPU (the CPU time per frame and the load average are
written beside them).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks.common import FER, write

from cnnlab.live import scene


def bare(fer, path: Path) -> tuple[int, float, float]:
    """(frames, wall s, cpu s) of decoding and the pipeline alone, as analyze_video runs them, without the table."""
    import cv2
    cap, pipe = cv2.VideoCapture(str(path)), fer.stream()
    n, wall, cpu = 0, time.perf_counter(), time.process_time()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        pipe(frame)
        n += 1
    cap.release()
    return n, time.perf_counter() - wall, time.process_time() - cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="fer2013-vgg", help="shipped model name or run folder")
    ap.add_argument("--frames", type=int, default=600, help="frames of the video (30 fps)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the best is kept")
    ap.add_argument("--data", default=str(FER), help="FER-2013 folder (DIR/test/<class>/*.jpg)")
    ap.add_argument("--out-dir", help="write the result here instead of benchmarks/results/")
    args = ap.parse_args()
    import cnnlab
    from cnnlab.live.detect import YuNetDetector
    pool, _ = scene.fer_faces(args.data, 60)
    keep = [pool[i] for i in scene.detectable(pool, YuNetDetector(), 20)]
    fer = cnnlab.ExpressionRecognizer(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "one-face.avi"
        scene.write_video(video, one_face(keep, args.frames), fps=30)
        fer.analyze_video(video, max_frames=30, progress=False)  # warm-up
        api, pipe = [], []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            table = fer.analyze_video(video, progress=False)
            api.append((time.perf_counter() - t, time.process_time() - c))
            pipe.append(bare(fer, video)[1:])
    n = args.frames
    best_api, best_pipe = min(api), min(pipe)
    result = {"frames": n, "rows": len(table), "faces_per_frame": round(len(table) / n, 3),
              "fps": round(n / best_api[0], 1), "cpu_ms_per_frame": round(1000 * best_api[1] / n, 2),
              "fps_without_table": round(n / best_pipe[0], 1),
              "cpu_ms_per_frame_without_table": round(1000 * best_pipe[1] / n, 2),
              "target_fps": 60, "meets_target": n / best_api[0] >= 60, "load_average": os.getloadavg()[0],
              "model": args.model, "backend": fer.info["backend"], "tta": fer.info["tta"]}
    write("analyze_video_fps_cpu", result, kind="speed", folder=Path(args.out_dir) if args.out_dir else None,
          note="640x480 MJPG video at 30 fps, one FER-2013 test face (144 px), another every 30 frames; best of "
               f"{args.repeat} runs; fps_without_table: the same decoding and pipeline without building the table")


def one_face(faces, count: int, every: int = 30):
    """Frames with one face, the next face every `every` frames (a person whose expression changes), moving a
    little as a person does."""
    for start in range(0, count, every):
        face = faces[(start // every) % len(faces)]
        for frame, _ in scene.frames([face], min(every, count - start)):
            yield frame


if __name__ == "__main__":
    main()
