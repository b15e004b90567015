"""Typed formula surfaces: what a formula costs against the same function written by hand in Python.

    python benchmarks/formula.py [--steps 500] [--repeat 10]

All in this run, on this machine: parsing (the whitelist visitor), the finiteness check on the view box,
6 optimizers × 1 start × STEPS steps on the eager engine for the formula and for the hand-written torch function
(the baseline), the fast engine's build for the formula, and its steady state; a moved well of the wells editor
(no new kernel). Ratios compare numbers from this run only.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time

import torch

from optviz.core import engine
from optviz.core.custom import _check_finite, builtin_wells, formula_surface, wells_surface
from optviz.core.formula import parse_formula
from optviz.core.presets import default_session
from optviz.core.simulate import simulate
from optviz.core.surfaces import Surface

TEXT = "sin(3*x)*cos(3*y) + 0.1*(x**2 + y**2)"


def by_hand(t: torch.Tensor) -> torch.Tensor:
    x, y = t[..., 0], t[..., 1]
    return torch.sin(3 * x) * torch.cos(3 * y) + 0.1 * (x**2 + y**2)


def median_time(fn, repeat: int) -> float:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    os.environ["OPTVIZ_CACHE_DIR"] = tempfile.mkdtemp(prefix="optviz-bench-")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    choices = default_session().enabled_choices()
    start = [(1.3, -0.7)]
    parse = median_time(lambda: parse_formula(TEXT), 200)
    parsed = parse_formula(TEXT)
    check = median_time(lambda: _check_finite(parsed, (-3.0, 3.0, -3.0, 3.0)), 20)
    formula = formula_surface(TEXT)
    hand = Surface("hand", "By hand", TEXT, by_hand, formula.view)
    run = lambda s, e: simulate(s, choices, start, args.steps, engine=e)  # noqa: E731
    base = median_time(lambda: run(hand, "eager"), args.repeat)
    eager = median_time(lambda: run(formula, "eager"), args.repeat)
    t = time.perf_counter()
    engine.library(formula)
    build = time.perf_counter() - t
    fast = median_time(lambda: run(formula, "fast"), args.repeat)
    wells = wells_surface(builtin_wells())
    engine.library(wells)
    moved = wells_surface([(0.5, 0.5, 1.2, 0.7), *builtin_wells()[1:]])
    t = time.perf_counter()
    engine.library(moved)
    rebuild = time.perf_counter() - t
    wells_fast = median_time(lambda: run(moved, "fast"), args.repeat)
    print(f"parse {TEXT!r}:                   {parse * 1e6:8.1f} µs")
    print(f"finiteness check (101×101 grid):  {check * 1e3:8.2f} ms")
    print(f"{len(choices)} optimizers × {args.steps} steps, eager, by hand (baseline): {base * 1e3:8.1f} ms")
    print(f"  the same as a typed formula, eager:      {eager * 1e3:8.1f} ms  ({eager / base:.2f}× the baseline)")
    print(f"  the formula's fast-engine build:         {build:8.2f} s")
    print(f"  the formula on the fast engine:          {fast * 1e3:8.2f} ms  ({base / fast:.0f}× faster than the "
          "baseline)")
    print(f"a moved well: kernel lookup {rebuild * 1e3:.2f} ms (no build), paths {wells_fast * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
