"""Render every picture a user meets into one folder, with ``optviz --screenshot``, to look at them all.

    python benchmarks/gallery.py OUT_FOLDER [--size 1400x900] [--only NAME …]

Every surface (with its default starts and the six optimizers), every preset, a diverged case, a crowded case
(16 start points), a training race (SGD, Momentum, Adam on LeNet) and PlainNet-20 vs ResNet-20 gradient flow.
Each picture is made by the real command in its own process (offscreen when there is no display); a failure is
reported and the others go on.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from optviz.core.optimizers import REGISTRY, OptimizerChoice
from optviz.core.presets import PRESETS, default_session
from optviz.core.session import OptimizerEntry, save_session
from optviz.core.surfaces import SURFACES
from optviz.training.config import TrainConfig


def _sessions():
    base = default_session()
    for name, surface in SURFACES.items():
        (x0, x1), (y0, y1) = surface.view
        start = (x0 + 0.15 * (x1 - x0), y0 + 0.2 * (y1 - y0))
        yield f"surface-{name}", "playground", base.with_(surface=name, surface_params={}, starts=(start,))
    for name, preset in PRESETS.items():
        yield f"preset-{name}", "playground", preset.session
    diverged = tuple(OptimizerEntry(OptimizerChoice(n, {"lr": 0.05})) for n in REGISTRY)
    yield "diverged-beale", "playground", base.with_(surface="beale", optimizers=diverged, starts=((1.0, 1.5),))
    crowded = tuple((-4.5 + 3 * (i % 4), -4.5 + 3 * (i // 4)) for i in range(16))
    yield "crowded-16-starts", "playground", base.with_(starts=crowded)
    race = TrainConfig(model="lenet", epochs=2, subset=2000, device="cpu",
                       optimizers=(OptimizerChoice("sgd", {"lr": 0.03}), OptimizerChoice("momentum", {"lr": 0.01}),
                                   OptimizerChoice("adam")))
    yield "training-race", "training", base.with_(training=race)
    for model in ("plain20", "resnet20"):
        flow = TrainConfig(model=model, max_steps=200, subset=2000, device="cpu", epochs=1)
        yield f"training-gradflow-{model}", "training", base.with_(training=flow)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--size", default="1400x900")
    ap.add_argument("--only", nargs="*", help="names (or prefixes) to render")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, tab, session in _sessions():
            if args.only and not any(name.startswith(o) for o in args.only):
                continue
            path = Path(tmp) / f"{name}.json"
            save_session(session, path)
            t = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "optviz", "--screenshot", str(args.out / f"{name}.png"),
                                   "--session", str(path), "--tab", tab, "--size", args.size],
                                  capture_output=True, text=True)
            status = "ok" if proc.returncode == 0 else f"FAILED: {proc.stderr.strip().splitlines()[-1:]}"
            failures += proc.returncode != 0
            print(f"{name:32} {time.perf_counter() - t:6.1f} s  {status}", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
