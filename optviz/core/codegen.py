"""A surface's value and gradient as C: traced into aten operations, then written as loops over rows.

1. ``make_fx`` traces ``torch.func.grad`` of the surface (fake tensors, a few rows) into the aten operations that
   autograd runs in the eager engine: the forward pass and the backward formulas, in torch's own order.
2. Every surface is row-wise (one row's value depends on that row alone), so each operation is written once, for
   one row: a tensor becomes a small numpy array of C variable names (its trailing dimensions), the row dimension
   stays implicit, and shape operations (select, expand, stack, …) only rearrange names.
3. The result is ``surface_block(n, pos, sp, f, g, work)``: values and gradients of ``n`` rows at once, written as
   loops over the rows (which the C compiler vectorises) broken only where a function of the math table
   (``ov_math``: sqrt, exp, cos, … for a whole array) is called. ``sp`` holds the surface's parameters, so a new
   parameter value needs no new code.

Arithmetic is written as ATen's CPU kernels do it: ``x**2`` as ``x*x`` and ``x**0.5`` as sqrt, ``a + alpha*b`` as
one fused multiply-add, and sqrt, exp, log, sin, cos, tan, tanh and atan through the same functions as torch (the
kernel's math table points at torch's own MKL vector functions where this torch uses them). So the C code rounds
as the eager engine does. An operation outside the tables below raises :class:`Unsupported`; the engine then stays
on the eager path for that surface.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch

from optviz.core.loops import Instruction, Unsupported, write_loops

aten = torch.ops.aten
TRACE_ROWS = 7  # rows of the traced example: a size that no trailing dimension of a 2D surface has


def literal(value: Any) -> str:
    """A Python number as an exact C double literal."""
    x = float(value)
    if math.isnan(x):
        return "NAN"
    if math.isinf(x):
        return "INFINITY" if x > 0 else "(-INFINITY)"
    return f"({x.hex()})"


def param_slots(surface) -> int:
    """Length of the parameter vector ``sp``: never 0, never the traced row count (so shapes stay apart)."""
    n = max(1, len(surface.param_values()))
    return n + 1 if n == TRACE_ROWS else n


def trace(surface) -> torch.fx.GraphModule:
    """aten graph of ``(gradient (R, 2), values (R,))`` of ``surface`` at ``(x (R, 2), sp (P,))``."""
    from torch.fx.experimental.proxy_tensor import make_fx

    fn, names = surface.fn, list(surface.param_values())

    def value_and_grad(x: torch.Tensor, sp: torch.Tensor):
        params = {n: sp[i] for i, n in enumerate(names)}

        def total(p: torch.Tensor):
            v = fn(p, **params)
            return v.sum(), v

        return torch.func.grad(total, has_aux=True)(x)

    x = torch.zeros(TRACE_ROWS, 2, dtype=torch.float64)
    sp = torch.ones(param_slots(surface), dtype=torch.float64)
    try:
        # functionalize: backward formulas that fill in place (pow's masked_fill_) become plain operations
        return make_fx(torch.func.functionalize(value_and_grad), tracing_mode="fake")(x, sp)
    except Exception as exc:  # data-dependent Python control flow, non-torch math, …
        raise Unsupported(f"cannot trace: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


class _Val:
    """A traced tensor for one row: C names over its trailing shape (``rowwise``) or its whole shape."""

    def __init__(self, names: np.ndarray, rowwise: bool, ctype: str = "double", total: bool = False):
        arr = np.empty((), dtype=object)
        if isinstance(names, np.ndarray):
            arr = names.astype(object)
        else:
            arr[()] = names  # one component (np.take and indexing return the bare name)
        self.names, self.rowwise, self.ctype, self.total = arr, rowwise, ctype, total


def _max(a: str, b: str) -> str:
    return f"ov_max({a}, {b})"


def _min(a: str, b: str) -> str:
    return f"ov_min({a}, {b})"


def _pow_scalar(a: str, e: float) -> str:
    # ATen's pow(Tensor, Scalar) on the CPU: these exponents have kernels of their own.
    special = {0.0: "1.0", 1.0: a, -0.5: f"(1.0 / sqrt({a}))", -1.0: f"(1.0 / {a})",
               2.0: f"({a} * {a})", 3.0: f"({a} * {a} * {a})", -2.0: f"(1.0 / ({a} * {a}))"}
    return special.get(float(e), f"pow({a}, {literal(e)})")


UNARY: dict[Any, Callable[[str], str]] = {
    aten.neg.default: lambda a: f"(-{a})",
    aten.sinh.default: lambda a: f"sinh({a})",
    aten.cosh.default: lambda a: f"cosh({a})",
    aten.log1p.default: lambda a: f"log1p({a})",
    aten.expm1.default: lambda a: f"expm1({a})",
    aten.rsqrt.default: lambda a: f"(1.0 / sqrt({a}))",
    aten.reciprocal.default: lambda a: f"(1.0 / {a})",
    aten.abs.default: lambda a: f"fabs({a})",
    aten.sgn.default: lambda a: f"((double)((0.0 < {a}) - ({a} < 0.0)))",
    aten.sign.default: lambda a: f"((double)((0.0 < {a}) - ({a} < 0.0)))",
    aten.sigmoid.default: lambda a: f"(1.0 / (1.0 + exp(-{a})))",
    aten.clone.default: lambda a: a,
    aten.alias.default: lambda a: a,
    aten.detach.default: lambda a: a,
    aten.lift_fresh_copy.default: lambda a: a,
}

BINARY: dict[Any, Callable[[str, str], str]] = {
    aten.add.Tensor: lambda a, b: f"({a} + {b})",
    aten.add.Scalar: lambda a, b: f"({a} + {b})",
    aten.sub.Tensor: lambda a, b: f"({a} - {b})",
    aten.sub.Scalar: lambda a, b: f"({a} - {b})",
    aten.rsub.Tensor: lambda a, b: f"({b} - {a})",
    aten.rsub.Scalar: lambda a, b: f"({b} - {a})",
    aten.mul.Tensor: lambda a, b: f"({a} * {b})",
    aten.mul.Scalar: lambda a, b: f"({a} * {b})",
    aten.div.Tensor: lambda a, b: f"({a} / {b})",
    aten.div.Scalar: lambda a, b: f"({a} / {b})",
    aten.pow.Tensor_Tensor: lambda a, b: f"pow({a}, {b})",
    aten.pow.Scalar: lambda a, b: f"pow({a}, {b})",
    aten.maximum.default: _max,
    aten.minimum.default: _min,
    aten.atan2.default: lambda a, b: f"atan2({a}, {b})",
    aten.sigmoid_backward.default: lambda a, b: f"({a} * (1.0 - {b}) * {b})",  # (grad, output)
    aten.tanh_backward.default: lambda a, b: f"({a} * fma(-{b}, {b}, 1.0))",
    aten.gt.Tensor: lambda a, b: f"({a} > {b})", aten.gt.Scalar: lambda a, b: f"({a} > {b})",
    aten.lt.Tensor: lambda a, b: f"({a} < {b})", aten.lt.Scalar: lambda a, b: f"({a} < {b})",
    aten.ge.Tensor: lambda a, b: f"({a} >= {b})", aten.ge.Scalar: lambda a, b: f"({a} >= {b})",
    aten.le.Tensor: lambda a, b: f"({a} <= {b})", aten.le.Scalar: lambda a, b: f"({a} <= {b})",
    aten.eq.Tensor: lambda a, b: f"({a} == {b})", aten.eq.Scalar: lambda a, b: f"({a} == {b})",
    aten.ne.Tensor: lambda a, b: f"({a} != {b})", aten.ne.Scalar: lambda a, b: f"({a} != {b})",
}

BINARY.update({  # logical operations that formula gradients produce (pow's backward for x**y)
    aten.logical_and.default: lambda a, b: f"({a} && {b})",
    aten.logical_or.default: lambda a, b: f"({a} || {b})",
})
UNARY[aten.logical_not.default] = lambda a: f"(!{a})"

RESHAPES = {aten.view.default, aten.reshape.default, aten._unsafe_view.default, aten.unsqueeze.default,
            aten.squeeze.dim, aten.squeeze.default, aten.squeeze.dims}


# Operations that ATen computes with its vector math library (MKL where torch has it): array calls.
VECTOR = {aten.sqrt.default: "sqrt", aten.exp.default: "exp", aten.log.default: "log", aten.cos.default: "cos",
          aten.sin.default: "sin", aten.tan.default: "tan", aten.tanh.default: "tanh", aten.atan.default: "atan"}


class _Writer:
    """Collects one instruction per component of every value, then writes them as loops over the rows."""

    def __init__(self) -> None:
        self.ins: list[Instruction] = []

    def emit(self, exprs: np.ndarray, ctype: str, rowwise: bool, math: str | None = None) -> np.ndarray:
        out = np.empty(exprs.shape, dtype=object)
        for idx in np.ndindex(exprs.shape):
            self.ins.append(Instruction(str(exprs[idx]), rowwise, ctype, math))
            out[idx] = f"%{len(self.ins) - 1}"
        return out

    def const(self, value: float, shape: tuple[int, ...]) -> np.ndarray:
        return np.full(shape, literal(value), dtype=object)


def _meta(node: torch.fx.Node) -> tuple[tuple[int, ...], torch.dtype]:
    val = node.meta.get("val")
    if not isinstance(val, torch.Tensor):
        raise Unsupported(f"operation {node.target} without a tensor result")
    return tuple(int(s) for s in val.shape), val.dtype


def _ctype(dtype: torch.dtype) -> str:
    if dtype == torch.float64:
        return "double"
    if dtype == torch.bool:
        return "int"
    raise Unsupported(f"values of type {dtype} (the fast engine computes in float64)")


def _split(shape: tuple[int, ...], rowwise: bool) -> tuple[int, ...]:
    if not rowwise:
        return shape
    if not shape or shape[0] != TRACE_ROWS:
        raise Unsupported("an operation that mixes rows")
    return shape[1:]


def _operand(arg: Any, values: dict, out: tuple[int, ...]) -> np.ndarray:
    """``arg`` (a traced value or a Python number) broadcast to the trailing shape ``out``."""
    if isinstance(arg, torch.fx.Node):
        v = values[arg]
        if v.total:
            raise Unsupported("a sum over rows used as a value")
        names = v.names
        if not v.rowwise and names.ndim > len(out):  # a global's leading dimensions meet the row dimension
            extra = names.ndim - len(out)
            if any(s != 1 for s in names.shape[:extra]):
                raise Unsupported("a parameter tensor broadcast across rows")
            names = names.reshape(names.shape[extra:])
        try:
            return np.broadcast_to(names, out)
        except ValueError:
            raise Unsupported(f"broadcasting {names.shape} to {out}") from None
    if isinstance(arg, (bool, int, float)):
        return np.full(out, literal(arg), dtype=object)
    raise Unsupported(f"an argument of type {type(arg).__name__}")


def _is_rowwise(args: tuple, values: dict) -> bool:
    return any(isinstance(a, torch.fx.Node) and values[a].rowwise for a in args)


def _node_value(node: torch.fx.Node, values: dict, w: _Writer, gm: torch.fx.GraphModule) -> _Val:
    target, args, kwargs = node.target, node.args, node.kwargs
    if node.op == "get_attr":
        tensor = getattr(gm, str(target))
        if tensor.numel() > 64 or tensor.dtype not in (torch.float64, torch.float32, torch.int64, torch.bool):
            raise Unsupported("a large or non-numeric constant tensor")
        arr = np.vectorize(literal, otypes=[object])(tensor.double().numpy()) if tensor.numel() else \
            np.empty(tuple(tensor.shape), dtype=object)
        return _Val(arr.reshape(tuple(tensor.shape)), False)
    shape, dtype = _meta(node)
    if target in VECTOR or (target is aten.pow.Tensor_Scalar and float(args[1]) == 0.5):
        rowwise = _is_rowwise(args, values)
        arg = _operand(args[0], values, _split(shape, rowwise))
        return _Val(w.emit(arg, "double", rowwise, VECTOR.get(target, "sqrt")), rowwise)
    if target in (aten.softplus.default, aten.softplus_backward.default):
        return _softplus(node, shape, dtype, values, w)
    if target in UNARY or target in BINARY or target in (aten.where.self, aten.masked_fill.Scalar, aten.clamp.default,
                                                         aten.clamp_min.default, aten.clamp_max.default,
                                                         aten.pow.Tensor_Scalar, aten._to_copy.default):
        rowwise = _is_rowwise(args, values)
        out = _split(shape, rowwise)
        ops = [_operand(a, values, out) for a in args if isinstance(a, (torch.fx.Node, bool, int, float))]
        if target in UNARY:
            exprs = np.frompyfunc(UNARY[target], 1, 1)(ops[0])
        elif target in (aten.add.Tensor, aten.sub.Tensor, aten.rsub.Tensor, aten.rsub.Scalar) and \
                kwargs.get("alpha", 1) != 1:
            # ATen computes a ± alpha·b as one fused multiply-add.
            alpha = float(kwargs["alpha"]) * (1 if target is aten.add.Tensor else -1)
            a_, b_ = (ops[0], ops[1]) if target in (aten.add.Tensor, aten.sub.Tensor) else (ops[1], ops[0])
            exprs = np.frompyfunc(lambda a, b: f"fma({literal(alpha)}, {b}, {a})", 2, 1)(a_, b_)
        elif target in BINARY:
            exprs = np.frompyfunc(BINARY[target], 2, 1)(ops[0], ops[1])
        elif target is aten.pow.Tensor_Scalar:
            exprs = np.frompyfunc(lambda a: _pow_scalar(a, args[1]), 1, 1)(ops[0])
        elif target is aten.where.self:
            exprs = np.frompyfunc(lambda c, a, b: f"({c} ? {a} : {b})", 3, 1)(*ops)
        elif target is aten.masked_fill.Scalar:  # (t, mask, value)
            exprs = np.frompyfunc(lambda t, c, v: f"({c} ? {v} : {t})", 3, 1)(*ops)
        elif target is aten._to_copy.default:
            exprs = np.frompyfunc(lambda a: f"(({_ctype(dtype)})({a}))", 1, 1)(ops[0])
        else:  # clamp family: NaN stays NaN, as in ATen
            lo = args[1] if target in (aten.clamp.default, aten.clamp_min.default) else None
            hi = args[2] if target is aten.clamp.default and len(args) > 2 else (
                args[1] if target is aten.clamp_max.default else None)
            exprs = ops[0]
            if lo is not None:
                exprs = np.frompyfunc(lambda a: _max(a, literal(lo)), 1, 1)(exprs)
            if hi is not None:
                exprs = np.frompyfunc(lambda a: _min(a, literal(hi)), 1, 1)(exprs)
        ctype = _ctype(dtype)
        return _Val(w.emit(np.asarray(exprs, dtype=object).reshape(out), ctype, rowwise), rowwise, ctype)
    return _layout(node, shape, dtype, values, w)


def _softplus(node: torch.fx.Node, shape: tuple[int, ...], dtype: torch.dtype, values: dict, w: _Writer) -> _Val:
    """softplus(a, beta, threshold) and softplus_backward(grad, a, beta, threshold), written as ATen's CPU kernels
    compute them (a formula's softplus())."""
    backward = node.target is aten.softplus_backward.default
    n = 2 if backward else 1
    tensors, scalars = node.args[:n], list(node.args[n:n + 2])
    beta, threshold = (scalars + [1.0, 20.0][len(scalars):])[:2]
    b, th = literal(beta), literal(threshold)
    rowwise = _is_rowwise(tuple(tensors), values)
    out = _split(shape, rowwise)
    ops = [_operand(a, values, out) for a in tensors]
    if backward:
        exprs = np.frompyfunc(lambda g, a: f"((({a}) * {b}) > {th} ? ({g}) : ({g}) * exp(({a}) * {b}) / "
                                           f"(exp(({a}) * {b}) + 1.0))", 2, 1)(*ops)
    else:
        exprs = np.frompyfunc(lambda a: f"((({a}) * {b}) > {th} ? ({a}) : log1p(exp(({a}) * {b})) / {b})", 1, 1)(
            ops[0])
    return _Val(w.emit(np.asarray(exprs, dtype=object).reshape(out), _ctype(dtype), rowwise), rowwise)


def _layout(node: torch.fx.Node, shape: tuple[int, ...], dtype: torch.dtype, values: dict, w: _Writer) -> _Val:
    """Operations that only rearrange, create or reduce values."""
    target, args = node.target, node.args
    src = values.get(args[0]) if args and isinstance(args[0], torch.fx.Node) else None
    if target is aten.sum.default:
        return _Val(np.empty((), dtype=object), False, total=True)
    if target in (aten.ones_like.default, aten.zeros_like.default, aten.full_like.default):
        fill = 1.0 if target is aten.ones_like.default else 0.0 if target is aten.zeros_like.default else args[1]
        rowwise = src.rowwise and not src.total
        return _Val(w.const(fill, _split(shape, rowwise)), rowwise)
    if target in (aten.full.default, aten.zeros.default, aten.ones.default, aten.scalar_tensor.default):
        fill = {aten.zeros.default: 0.0, aten.ones.default: 1.0}.get(target)
        fill = args[0] if target is aten.scalar_tensor.default else (args[1] if fill is None else fill)
        rowwise = bool(shape) and shape[0] == TRACE_ROWS
        return _Val(w.const(fill, _split(shape, rowwise)), rowwise)
    if src is None or src.total:
        raise Unsupported(f"operation {target}")
    names, rowwise = src.names, src.rowwise
    off = 1 if rowwise else 0

    def axis(d: int, rank: int) -> int:
        d = d + rank if d < 0 else d
        if rowwise and d == 0:
            raise Unsupported(f"{target} across rows")
        return d - off

    rank = names.ndim + off
    if target is aten.select.int:
        return _Val(np.take(names, args[2], axis=axis(args[1], rank)), rowwise, src.ctype)
    if target is aten.expand.default:
        out_rowwise = rowwise or (bool(shape) and shape[0] == TRACE_ROWS)
        return _Val(_operand(args[0], values, _split(shape, out_rowwise)), out_rowwise, src.ctype)
    if target is aten.select_backward.default:
        sizes, dim, index = args[1], args[2], args[3]
        out_rowwise = rowwise or (bool(sizes) and sizes[0] == TRACE_ROWS)
        full = _split(tuple(sizes), out_rowwise)
        d = (dim + len(sizes) if dim < 0 else dim) - (1 if out_rowwise else 0)
        if d < 0:
            raise Unsupported("select_backward across rows")
        result = np.full(full, literal(0.0), dtype=object)
        moved = np.moveaxis(result, d, 0)
        moved[index] = names[()] if names.ndim == 0 else names  # a 0-d array would be stored as one object
        return _Val(result, out_rowwise, src.ctype)
    if target in RESHAPES:
        return _Val(names.reshape(_split(shape, rowwise)), rowwise, src.ctype)
    if target in (aten.permute.default, aten.transpose.int, aten.t.default):
        if target is aten.permute.default:
            perm = [axis(d, rank) for d in args[1][off:]]
            if rowwise and args[1][0] % rank != 0:
                raise Unsupported("permute across rows")
            return _Val(np.transpose(names, perm), rowwise, src.ctype)
        a, b = (args[1], args[2]) if target is aten.transpose.int else (0, 1)
        return _Val(np.swapaxes(names, axis(a, rank), axis(b, rank)), rowwise, src.ctype)
    if target in (aten.stack.default, aten.cat.default):
        parts = list(args[0])
        dim = args[1] if len(args) > 1 else 0
        rowwise = _is_rowwise(tuple(parts), values)
        out = _split(shape, rowwise)
        pieces = [values[p].names for p in parts]
        if any(values[p].rowwise != rowwise for p in parts):
            raise Unsupported(f"{target} of row-wise and global values")
        rank_in = pieces[0].ndim + (1 if rowwise else 0)
        if target is aten.stack.default:
            d = (dim + rank_in + 1 if dim < 0 else dim) - (1 if rowwise else 0)
            res = np.stack(pieces, axis=d)
        else:
            d = (dim + rank_in if dim < 0 else dim) - (1 if rowwise else 0)
            res = np.concatenate(pieces, axis=d)
        if d < 0:
            raise Unsupported(f"{target} across rows")
        return _Val(res.reshape(out), rowwise, values[parts[0]].ctype)
    raise Unsupported(f"operation {target}")


def surface_source(surface, block: int) -> str:
    """C source of ``surface_block`` for ``surface`` (at most ``block`` rows a call); :class:`Unsupported` if it
    cannot be written."""
    gm = trace(surface)
    w = _Writer()
    values: dict[torch.fx.Node, _Val] = {}
    result = None
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if not values:
                values[node] = _Val(w.emit(np.array(["pos[2 * i]", "pos[2 * i + 1]"], dtype=object), "double",
                                           True), True)
            else:
                names = np.array([f"sp[{i}]" for i in range(param_slots(surface))], dtype=object)
                values[node] = _Val(names, False)
        elif node.op in ("call_function", "get_attr"):
            values[node] = _node_value(node, values, w, gm)
        elif node.op == "output":
            result = node.args[0]
    if result is None or len(result) != 2:
        raise Unsupported("unexpected graph outputs")
    grad, value = (values[result[0]], values[result[1]])
    if not (grad.rowwise and grad.names.shape == (2,) and value.rowwise and value.names.shape == ()):
        raise Unsupported("the surface must map (..., 2) points to (...) values")
    outputs = {"f[i]": value.names[()], "g[2 * i]": grad.names[0], "g[2 * i + 1]": grad.names[1]}
    return write_loops(w.ins, outputs, block)
