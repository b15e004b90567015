"""`optviz paths`: run optimizers on a surface headless and print or save their paths (CSV or JSON)."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import math
import sys

from optviz.commands import UsageError, output_file, plural, write_or_keep
from optviz.core.devices import DEVICE
from optviz.core.optimizers import NOISE, REGISTRY, SEED, OptimizerChoice, parse_optimizer, unique_choices
from optviz.core.regularize import parse_penalty
from optviz.core.schedules import SCHEDULES, WARMUP, ScheduleChoice, parse_schedule
from optviz.core.params import parse_named, quote
from optviz.core.files import write_atomic
from optviz.core.session import MAX_STARTS, STEPS, OptimizerEntry, Session, load_session
from optviz.core.simulate import Paths, simulate
from optviz.core.custom import DEFAULT_VIEW, formula_surface, parse_view
from optviz.core.formula import FormulaError
from optviz.core.surfaces import SURFACES, Surface, get_surface

CSV_HEADER = ("optimizer", "start", "step", "x", "y", "loss", "grad_norm", "status")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("paths", help="run optimizers on a surface and print their paths",
                       description="Run optimizers from start points on a surface. Flags given on the command line "
                                   "override the values of --session.")
    p.add_argument("--session", metavar="FILE.json", help="read surface, starts, steps and optimizers from a session")
    p.add_argument("--surface", metavar="NAME[:k=v,…]",
                   help=f"surface, optionally with parameters, e.g. quadratic:kappa=100 ({', '.join(SURFACES)})")
    add_formula_arguments(p)
    p.add_argument("--start", metavar="X,Y", action="append", help="start point (repeat for several)")
    p.add_argument("--steps", metavar="N", help=f"{STEPS.doc}: {STEPS.allowed()} (default {STEPS.default})")
    p.add_argument("--optimizer", metavar="NAME[:k=v,…]", action="append",
                   help="optimizer with torch.optim keywords, e.g. adam:lr=0.01,beta1=0.8 (repeat for several)")
    p.add_argument("--device", metavar="|".join(DEVICE.choices), help=f"where to compute (default {DEVICE.default})")
    add_run_arguments(p)
    p.add_argument("--out", metavar="FILE.csv|FILE.json", help="write here instead of printing CSV to stdout")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """--noise, --seed, --schedule, --warmup (for every optimizer) and --penalty (on the surface)."""
    p.add_argument("--noise", metavar="SIGMA", help=f"{NOISE.doc}, for every optimizer without noise= of its own "
                                                   f"({NOISE.allowed()})")
    p.add_argument("--seed", metavar="N", help=f"{SEED.doc}, for every optimizer without seed= of its own "
                                               f"({SEED.allowed()})")
    p.add_argument("--schedule", metavar="NAME[:k=v,…]",
                   help=f"learning-rate schedule of every optimizer, one \"epoch\" per step ({', '.join(SCHEDULES)}), "
                        "e.g. cosine:eta_min=0.001 or step:step_size=100,gamma=0.5")
    p.add_argument("--warmup", metavar="N", help=f"{WARMUP.doc} ({WARMUP.allowed()})")
    p.add_argument("--penalty", metavar="l1:A|l2:A|none",
                   help="add α·(|x| + |y|) (l1) or (α/2)·(x² + y²) (l2) to the surface, e.g. l1:0.5")


def apply_run_arguments(session: Session, args: argparse.Namespace) -> Session:
    """The session with --noise/--seed/--schedule/--warmup on its optimizers and --penalty on its surface."""
    noise = NOISE.parse(args.noise) if getattr(args, "noise", None) is not None else None
    seed = SEED.parse(args.seed) if getattr(args, "seed", None) is not None else None
    warmup = getattr(args, "warmup", None)
    schedule = None
    if getattr(args, "schedule", None) is not None:
        schedule = parse_schedule(args.schedule, warmup if warmup is not None else 0)
    elif warmup is not None:
        schedule = ScheduleChoice("none", warmup=WARMUP.parse(warmup))
    entries = []
    for e in session.optimizers:
        c = e.choice
        c = c if noise is None or c.noise else dataclasses.replace(c, noise=noise)
        c = c if seed is None or c.seed else dataclasses.replace(c, seed=seed)
        c = c if schedule is None else dataclasses.replace(c, schedule=schedule)
        entries.append(dataclasses.replace(e, choice=c))
    session = session.with_(optimizers=tuple(entries))
    if getattr(args, "penalty", None) is not None:
        session = session.with_(penalty=parse_penalty(args.penalty))
    return session


def parse_start(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError
    except ValueError:
        raise UsageError(f"Malformed start {quote(text)} (expected X,Y with two finite numbers, e.g. --start -1.5,2)")
    return x, y


def add_formula_arguments(p: argparse.ArgumentParser) -> None:
    """--formula and --view: a surface typed as a formula (instead of --surface)."""
    p.add_argument("--formula", metavar="EXPR",
                   help="a surface typed as f(x, y) instead of --surface, e.g. 'sin(3*x)*cos(3*y) + 0.1*(x**2 + "
                        "y**2)': numbers, x, y, pi, e, + - * / **, sin cos tan exp log sqrt abs tanh sigmoid "
                        "softplus, min(a, b), max(a, b)")
    p.add_argument("--view", metavar="XMIN,XMAX,YMIN,YMAX",
                   help="the formula's view box (default " + ",".join(f"{v:g}" for v in DEFAULT_VIEW) + ")")


def formula_from_args(args: argparse.Namespace) -> Surface | None:
    """The formula surface that --formula/--view ask for, None without --formula; UsageError for a clash."""
    formula, view = getattr(args, "formula", None), getattr(args, "view", None)
    if formula is not None and getattr(args, "surface", None):
        raise UsageError("give either --surface or --formula, not both")
    if formula is None:
        if view is not None and not getattr(args, "session", None):
            raise UsageError("--view goes with --formula (a built-in surface has its own view box)")
        return None
    try:
        return formula_surface(formula, parse_view(view) if view is not None else None)
    except FormulaError as exc:
        raise UsageError(f"--formula {quote(formula)}: {exc}") from None


def surface_from_args(args: argparse.Namespace) -> Surface:
    """The surface of --surface NAME[:k=v,…] or of --formula EXPR [--view …] (for the map commands)."""
    custom = formula_from_args(args)
    if custom is not None:
        return custom
    if not args.surface:
        raise UsageError("--surface or --formula is required (surfaces: " + ", ".join(SURFACES) + ")")
    name, params = parse_surface(args.surface)
    return get_surface(name, **params)


def parse_surface(text: str) -> tuple[str, dict[str, float]]:
    name, params = parse_named(text, "surface")
    surface = get_surface(name, **params)  # validates name and parameters
    return surface.name, dict(surface.values)


def labelled(texts: list[str]) -> list[OptimizerChoice]:
    """Parse optimizer specs; label each by the name as given, made unique (``adam``, ``adam#2``)."""
    return unique_choices(parse_optimizer(text, label=text.partition(":")[0].strip()) for text in texts)


def build_session(args: argparse.Namespace) -> Session:
    session = load_session(args.session) if args.session else Session()
    custom = formula_from_args(args)
    if custom is not None:
        (x0, x1), (y0, y1) = custom.view
        session = session.with_(surface=custom.name, surface_params={}, formula=custom.formula,
                                view=(x0, x1, y0, y1), wells=None)
    elif args.view is not None:  # a new view box for the session's formula
        _expect_formula(session)
        surface = formula_surface(session.formula, parse_view(args.view))
        (x0, x1), (y0, y1) = surface.view
        session = session.with_(view=(x0, x1, y0, y1))
    elif args.surface:
        name, params = parse_surface(args.surface)
        session = session.with_(surface=name, surface_params={k: float(v) for k, v in params.items()}, formula="",
                                view=None, wells=None)
    elif not args.session:
        raise UsageError("--surface or --formula is required without --session (surfaces: " + ", ".join(SURFACES)
                         + ")")
    if args.start:
        if len(args.start) > MAX_STARTS:
            raise UsageError(f"Too many --start points: {len(args.start)} (allowed: 1 to {MAX_STARTS})")
        session = session.with_(starts=tuple(parse_start(s) for s in args.start))
    if args.optimizer:
        session = session.with_(optimizers=tuple(OptimizerEntry(c) for c in labelled(args.optimizer)))
    elif not args.session:
        raise UsageError(f"--optimizer is required without --session (allowed: {', '.join(REGISTRY)})")
    if args.steps is not None:
        session = session.with_(steps=STEPS.parse(args.steps))
    if args.device:
        session = session.with_(device=DEVICE.parse(args.device))
    session = apply_run_arguments(session, args)
    if not session.enabled_choices():
        raise UsageError("the session enables no optimizer")
    return session


def _expect_formula(session: Session) -> None:
    if not session.formula:
        raise UsageError("--view goes with --formula (the session's surface is not a formula)")


def _rows(paths: Paths):
    for i, label in enumerate(paths.labels):
        for j in range(paths.positions.shape[1]):
            d = int(paths.diverged_step[i, j])
            last = paths.steps if d < 0 else d
            for k in range(last + 1):
                x, y = paths.positions[i, j, k]
                yield (label, j, k, x, y, paths.losses[i, j, k], paths.grad_norms[i, j, k], paths.status(i, j, k))


def to_csv(paths: Paths) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_HEADER)
    for label, j, k, x, y, loss, g, status in _rows(paths):
        w.writerow((label, j, k, repr(float(x)), repr(float(y)), repr(float(loss)), repr(float(g)), status))
    return buf.getvalue()


def to_json(paths: Paths, session: Session) -> str:
    choices = session.enabled_choices()
    items = []
    for i, choice in enumerate(choices):
        for j, start in enumerate(session.starts):
            d, c = int(paths.diverged_step[i, j]), int(paths.converged_step[i, j])
            end = paths.steps + 1 if d < 0 else d + 1
            pos = paths.positions[i, j, :end]
            items.append({
                "optimizer": choice.label, "name": choice.name, "hyper": dict(choice.values), "start": j,
                "start_point": list(start), "status": paths.status(i, j),
                "converged_step": c if c >= 0 else None, "diverged_step": d if d >= 0 else None,
                "x": pos[:, 0].tolist(), "y": pos[:, 1].tolist(),
                "loss": paths.losses[i, j, :end].tolist(), "grad_norm": paths.grad_norms[i, j, :end].tolist(),
            })
            if not choice.plain:
                items[-1].update(noise=choice.noise, seed=choice.seed, schedule=choice.schedule.to_dict())
    doc = {"surface": session.surface, "surface_params": session.surface_params, "steps": paths.steps,
           "device": paths.device, "paths": items}
    if session.formula:
        (x0, x1), (y0, y1) = session.make_surface().view
        doc["formula"], doc["view"] = session.formula, [x0, x1, y0, y1]
    if session.wells is not None:
        doc["wells"] = [list(w) for w in session.wells]
    if session.penalty.active:
        doc["penalty"] = session.penalty.to_dict()
    # Non-finite numbers (a diverging step) are written as null: JSON has no Infinity or NaN.
    return json.dumps(_finite_or_null(doc)) + "\n"


def _finite_or_null(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite_or_null(v) for v in obj]
    return obj


def run(args: argparse.Namespace) -> int:
    out = None if args.out is None else output_file(args.out, "--out", (".csv", ".json"),
                                                    others={"--session": args.session})
    session = build_session(args)
    paths = simulate(session.make_surface(), session.enabled_choices(), session.starts, session.steps,
                     device=session.device)
    text = to_json(paths, session) if out is not None and out.suffix.lower() == ".json" else to_csv(paths)
    if out is None:
        sys.stdout.write(text)
    else:
        write_or_keep(out, lambda path: write_atomic(path, text))
        print(f"wrote {out} ({plural(paths.positions.shape[0], 'optimizer', 'optimizers')} × "
              f"{plural(paths.positions.shape[1], 'start', 'starts')}, {paths.steps} steps, device {paths.device})",
              file=sys.stderr)
    return 0
