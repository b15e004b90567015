"""Per-row instructions written as C: loops over a block of rows, broken only by calls of array functions.

:mod:`optviz.core.codegen` turns a traced surface into :class:`Instruction`s, one per component of every value;
:func:`write_loops` writes them as ``surface_block``. Values that depend on no row (parameters, constants) are
computed once at the top. A row-wise value is a local of its loop unless a later loop, an array function or the
outputs read it: then it is also stored in a work array (a ``slot`` of ``block`` doubles).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Functions that ATen computes with its vector math library (MKL VML where torch has it): the kernel calls them
# on whole arrays through its math table, so that they round exactly as the eager engine's do.
MATH = ("sqrt", "exp", "log", "cos", "sin", "tan", "tanh", "atan")


class Unsupported(Exception):
    """The surface uses something that the C translation does not handle (the message says what)."""


@dataclass
class Instruction:
    """One component of one traced value: ``expr`` refers to earlier components as ``%N``; ``math`` names a
    function of :data:`MATH` applied to the one reference in ``expr``."""

    expr: str
    rowwise: bool
    ctype: str
    math: str | None = None



_REF = re.compile(r"%(\d+)")


def write_loops(ins: list[Instruction], outputs: dict[str, str], block: int) -> str:
    """``surface_block`` in C: globals first, then loops over the rows split at each array function call;
    ``outputs`` maps C targets (``f[i]``, …) to instruction references."""
    seg = [0] * len(ins)
    current = 0
    for k, item in enumerate(ins):
        if item.rowwise:
            seg[k] = current
            if item.math:
                current += 1  # the call ends this loop; its result is read from the next loop on
    final = current + 1
    stored = {k for k, item in enumerate(ins) if item.rowwise and item.math}
    for k, item in enumerate(ins):
        for ref in map(int, _REF.findall(item.expr)):
            if ins[ref].rowwise and item.rowwise and (item.math or seg[k] > seg[ref]):
                stored.add(ref)
    for ref in outputs.values():
        stored.update(int(r) for r in _REF.findall(ref) if ins[int(r)].rowwise)
    slot = {k: i for i, k in enumerate(sorted(stored))}

    def name(ref: int, at: int) -> str:
        if not ins[ref].rowwise:
            return f"v{ref}"
        return f"v{ref}" if seg[ref] == at and not ins[ref].math else f"a{slot[ref]}[i]"

    def resolve(expr: str, at: int) -> str:
        return _REF.sub(lambda m: name(int(m.group(1)), at), expr)

    lines = ["static void surface_block(const int n, const double *pos, const double *sp, double *f, double *g,",
             "                          double *work) {",
             "    (void)sp; (void)work;"]
    lines += [f"    double *const a{i} = work + {i} * {block};" for i in range(len(slot))]
    for k, item in enumerate(ins):  # globals: parameters and constants, once a call
        if not item.rowwise:
            if item.math:
                lines.append(f"    double v{k}; {{ const double in = {resolve(item.expr, -1)}; "
                             f"ov_math[OV_{item.math.upper()}](1, &in, &v{k}); }}")
            else:
                lines.append(f"    const {item.ctype} v{k} = {resolve(item.expr, -1)};")
    body: list[str] = []

    def flush() -> None:
        if body:
            lines.append("    for (int i = 0; i < n; i++) {")
            lines.extend(body)
            lines.append("    }")
            body.clear()

    for k, item in enumerate(ins):
        if not item.rowwise:
            continue
        if item.math:
            (ref,) = map(int, _REF.findall(item.expr)) or (None,)
            if ref is None or not ins[ref].rowwise:  # a row-wise math call of a constant
                raise Unsupported("a math function of a constant broadcast to rows")
            flush()
            lines.append(f"    ov_math[OV_{item.math.upper()}](n, a{slot[ref]}, a{slot[k]});")
            continue
        body.append(f"        const {item.ctype} v{k} = {resolve(item.expr, seg[k])};")
        if k in stored:
            body.append(f"        a{slot[k]}[i] = v{k};")
    flush()
    body.extend(f"        {target} = {resolve(ref, final)};" for target, ref in outputs.items())
    flush()
    lines.append("}")
    return f"#define OV_SURFACE_SLOTS {max(1, len(slot))}\n" + "\n".join(lines) + "\n"
