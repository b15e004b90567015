"""Formulas typed by the user, f(x, y), parsed through a whitelist into a tree that torch evaluates.

1. The text is checked for length and characters, then parsed by Python's ``ast.parse`` (parsing only: nothing is
   ever evaluated, executed or compiled).
2. An explicit visitor walks the syntax tree and accepts only: numbers, ``x``, ``y``, ``pi``, ``e``, the operators
   ``+ - * / **``, unary ``-``/``+``, and calls of the functions in :data:`FUNCTIONS` (``min``/``max`` of two).
   Anything else (names, attributes, subscripts, lambdas, comprehensions, strings, comparisons, …) is refused with
   its column: ``unknown name 'z' at column 7``.
3. Constant parts are folded to one float as they are read (float arithmetic only, so ``9**9**9`` is one overflow
   check, not a huge integer), and the limits hold: length, nesting depth, node count, exponent size.
4. The result is a :class:`Formula`: a small tree of tuples (hashable: it keys the surface caches) with
   :meth:`Formula.evaluate` over torch tensors, so autograd, ``make_fx`` and the fast engine see plain aten
   operations.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Callable

from optviz.core.lazy import torch

from optviz.core.params import ParamError

MAX_LENGTH = 400  # characters
MAX_DEPTH = 40  # nesting of operations
MAX_NODES = 200  # numbers, names, operations and calls
MAX_EXPONENT = 64  # |constant exponent| of **
MAX_CONSTANT = 1e100  # |folded constant|

Tensor = "torch.Tensor"  # annotations only: formulas also take optviz.core.dual.Dual (the launch preview)
Tree = tuple  # ("num", v) | ("x",) | ("y",) | ("neg", a) | (op, a, b) | ("call", name, a[, b])


class FormulaError(ParamError):
    """A formula that is refused: the message names the problem, where it is (column, from 1) and what is allowed."""


# name → (number of arguments, function of floats for constant folding). On tensors a function is the tensor's
# method of that name (x.sin() is torch.sin(x)), but softplus, which is torch.nn.functional.softplus; min/max
# are torch.minimum/maximum (clamp_max/clamp_min with a number).
FUNCTIONS: dict[str, tuple[int, Callable]] = {
    "sin": (1, math.sin),
    "cos": (1, math.cos),
    "tan": (1, math.tan),
    "exp": (1, math.exp),
    "log": (1, math.log),
    "sqrt": (1, math.sqrt),
    "abs": (1, abs),
    "tanh": (1, math.tanh),
    "sigmoid": (1, lambda v: 1.0 / (1.0 + math.exp(-v)) if v > -700 else 0.0),
    "softplus": (1, lambda v: v if v > 20 else math.log1p(math.exp(v))),
    "min": (2, min),
    "max": (2, max),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
VARIABLES = ("x", "y")
ALLOWED = "numbers, x, y, pi, e, + - * / **, parentheses and the functions"
ALLOWED_NAMES = "x, y, pi, e"
ALLOWED_FUNCTIONS = ", ".join(n for n in FUNCTIONS if FUNCTIONS[n][0] == 1) + ", min(a, b), max(a, b)"
_OPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_OP_TEXT = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
_REFUSED = {  # what a node is called in a message
    "Attribute": "attribute access ('.')", "Subscript": "subscripts ('[...]')", "Lambda": "lambda",
    "ListComp": "comprehensions", "SetComp": "comprehensions", "DictComp": "comprehensions",
    "GeneratorExp": "comprehensions", "JoinedStr": "f-strings", "FormattedValue": "f-strings",
    "NamedExpr": "':='", "Compare": "comparisons", "BoolOp": "'and'/'or'", "IfExp": "'if ... else'",
    "List": "lists", "Tuple": "tuples (a stray comma?)", "Set": "sets", "Dict": "dicts", "Starred": "'*' unpacking",
    "Await": "await", "Yield": "yield", "YieldFrom": "yield", "Slice": "slices",
}
_BINOP_WORDS = {ast.FloorDiv: "'//'", ast.Mod: "'%'", ast.MatMult: "'@'", ast.LShift: "'<<'", ast.RShift: "'>>'",
                ast.BitOr: "'|'", ast.BitAnd: "'&'"}


@dataclass(frozen=True)
class Formula:
    """A parsed formula: ``text`` as typed (stripped) and its tree; equal formulas compare and hash equal."""

    text: str
    tree: Tree = field(compare=False)

    @property
    def canonical(self) -> str:
        """The tree written back as text (fully parenthesised): two spellings of one formula share it."""
        return _write(self.tree)

    def evaluate(self, x: Tensor, y: Tensor) -> Tensor:
        """f at tensors ``x`` and ``y`` of one shape (torch operations only)."""
        out = _eval(self.tree, x, y)
        if self.tree[0] == "num":  # a constant: still an operation on x (the fast engine's trace needs one)
            return x * 0.0 + out
        return out * 1.0 if self.tree[0] in VARIABLES else out  # a new tensor, never a view of the input

    def __call__(self, t: Tensor) -> Tensor:
        """f at every row of a (..., 2) tensor, as the surfaces take it."""
        return self.evaluate(t[..., 0], t[..., 1])


class _Reader:
    """The whitelist visitor: one method per accepted node type, everything else refused with its column."""

    def __init__(self, text: str) -> None:
        self.text, self.nodes = text, 0

    def fail(self, node: ast.AST, what: str, allowed: str = "") -> FormulaError:
        column = getattr(node, "col_offset", 0) + 1  # ASCII only (checked): bytes are characters
        return FormulaError(f"{what} at column {column}" + (f" (allowed: {allowed})" if allowed else ""))

    def read(self, node: ast.AST, depth: int) -> Tree:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, f"formula too large: more than {MAX_NODES} numbers, names and operations")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"formula nested too deeply (more than {MAX_DEPTH} levels)")
        method = getattr(self, f"read_{type(node).__name__}", None)
        if method is None:
            name = type(node).__name__
            raise self.fail(node, f"{_REFUSED.get(name, name)} not allowed", f"{ALLOWED} {ALLOWED_FUNCTIONS}")
        return method(node, depth + 1)

    def read_Constant(self, node: ast.Constant, depth: int) -> Tree:  # noqa: N802
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            what = "text in quotes" if isinstance(value, (str, bytes)) else f"{type(value).__name__} values"
            raise self.fail(node, f"{what} not allowed")
        try:
            number = float(value)
        except OverflowError:
            raise self.fail(node, "number too large") from None
        return self.constant(node, number)

    def constant(self, node: ast.AST, number: float) -> Tree:
        if not math.isfinite(number) or abs(number) > MAX_CONSTANT:
            raise self.fail(node, "number too large", f"at most {MAX_CONSTANT:g} in size")
        return ("num", number)

    def read_Name(self, node: ast.Name, depth: int) -> Tree:  # noqa: N802
        if node.id in VARIABLES:
            return (node.id,)
        if node.id in CONSTANTS:
            return ("num", CONSTANTS[node.id])
        if node.id in FUNCTIONS:
            raise self.fail(node, f"function {node.id!r} without arguments (write {node.id}(...))")
        raise self.fail(node, f"unknown name {node.id!r}", f"the names {ALLOWED_NAMES} and the functions "
                                                            f"{ALLOWED_FUNCTIONS}")

    def read_UnaryOp(self, node: ast.UnaryOp, depth: int) -> Tree:  # noqa: N802
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise self.fail(node, "'not' and '~' not allowed", "unary - and +")
        a = self.read(node.operand, depth)
        if isinstance(node.op, ast.UAdd):
            return a
        return ("num", -a[1]) if a[0] == "num" else ("neg", a)

    def read_BinOp(self, node: ast.BinOp, depth: int) -> Tree:  # noqa: N802
        op = _OPS.get(type(node.op))
        if op is None:
            column = self._operator_column(node)
            if isinstance(node.op, ast.BitXor):
                raise FormulaError(f"'^' at column {column}: write powers as ** (e.g. x**2)")
            raise FormulaError(f"{_BINOP_WORDS.get(type(node.op), 'this operator')} at column {column} not allowed "
                               "(allowed: + - * / **)")
        a, b = self.read(node.left, depth), self.read(node.right, depth)
        if op == "pow" and b[0] == "num" and abs(b[1]) > MAX_EXPONENT:
            raise FormulaError(f"exponent {b[1]:g} at column {node.right.col_offset + 1} too large "
                               f"(allowed: at most {MAX_EXPONENT} in size)")
        if a[0] == "num" and b[0] == "num":
            return self.constant(node, _fold(node, op, a[1], b[1], self))
        return (op, a, b)

    def _operator_column(self, node: ast.BinOp) -> int:
        """The column of the operator itself: the first non-space after the left operand."""
        end = getattr(node.left, "end_col_offset", node.col_offset) or node.col_offset
        line = self.text
        while end < len(line) and line[end] in " )":
            end += 1
        return end + 1

    def read_Call(self, node: ast.Call, depth: int) -> Tree:  # noqa: N802
        if not isinstance(node.func, ast.Name):
            raise self.fail(node.func, "only plain function names can be called (no attribute access or calls "
                                       "of expressions)")
        name = node.func.id
        if name not in FUNCTIONS:
            raise self.fail(node.func, f"unknown function {name!r}", f"the functions {ALLOWED_FUNCTIONS}")
        if node.keywords:
            raise self.fail(node.keywords[0].value, f"{name}() takes no keyword arguments")
        arity = FUNCTIONS[name][0]
        if len(node.args) != arity:
            raise self.fail(node, f"{name}() takes {arity} argument{'s' if arity > 1 else ''}, got {len(node.args)}")
        args = [self.read(a, depth) for a in node.args]
        if all(a[0] == "num" for a in args):
            try:
                value = FUNCTIONS[name][1](*(a[1] for a in args))
            except (ValueError, OverflowError, ZeroDivisionError):
                raise self.fail(node, f"{name}() of {', '.join(f'{a[1]:g}' for a in args)} is not a finite "
                                      "number") from None
            return self.constant(node, float(value))
        return ("call", name, *args)


def _fold(node: ast.BinOp, op: str, a: float, b: float, reader: _Reader) -> float:
    try:
        if op == "add":
            return a + b
        if op == "sub":
            return a - b
        if op == "mul":
            return a * b
        if op == "div":
            return a / b
        value = a ** b
        if isinstance(value, complex):
            raise ValueError
        return value
    except ZeroDivisionError:
        raise reader.fail(node, "division by zero") from None
    except OverflowError:
        raise reader.fail(node, "number too large") from None
    except ValueError:
        raise reader.fail(node, f"{a:g}**{b:g} is not a real number") from None


def parse_formula(text: str) -> Formula:
    """The formula in ``text``, or FormulaError naming the problem and its column. Never evaluates the text."""
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be text, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise FormulaError(f"empty formula (write f(x, y) with {ALLOWED} {ALLOWED_FUNCTIONS})")
    if len(stripped) > MAX_LENGTH:
        raise FormulaError(f"formula too long: {len(stripped)} characters (allowed: at most {MAX_LENGTH})")
    for i, ch in enumerate(stripped):
        if not (" " <= ch <= "~"):
            shown = repr(ch) if ch.isprintable() else f"U+{ord(ch):04X}"
            hint = " (write powers as **)" if ch in "²³" else " (write × and · as *)" if ch in "×·" else \
                " (write − as -)" if ch == "−" else ""
            raise FormulaError(f"character {shown} at column {i + 1} not allowed{hint}")
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        raise FormulaError(_syntax_message(exc, stripped)) from None
    except (RecursionError, MemoryError, ValueError):
        raise FormulaError(f"formula nested too deeply (more than {MAX_DEPTH} levels)") from None
    reader = _Reader(stripped)
    try:
        out = reader.read(tree.body, 0)
    except RecursionError:
        raise FormulaError(f"formula nested too deeply (more than {MAX_DEPTH} levels)") from None
    return Formula(stripped, out)


def _syntax_message(exc: SyntaxError, text: str) -> str:
    message = (exc.msg or "invalid syntax").split(".")[0]
    column = exc.offset or 0
    if column <= 0 or column > len(text):
        return f"incomplete formula: {message} at column {len(text) + 1} (an operand or ')' is missing at the end)"
    if "decimal literal" in message:
        return f"{message} at column {column} (write a product with *, e.g. 2*x)"
    hint = " (a missing operator?)" if message == "invalid syntax" else ""
    return f"{message} at column {column}{hint}"


def _eval(t: Tree, x: Tensor, y: Tensor):
    kind = t[0]
    if kind == "num":
        return t[1]
    if kind == "x":
        return x
    if kind == "y":
        return y
    if kind == "neg":
        return -_eval(t[1], x, y)
    if kind == "call":
        name, args = t[1], [_eval(a, x, y) for a in t[2:]]
        if name in ("min", "max"):
            return _min_max(name, *args)
        return _apply(name, args[0])
    a, b = _eval(t[1], x, y), _eval(t[2], x, y)
    if kind == "add":
        return a + b
    if kind == "sub":
        return a - b
    if kind == "mul":
        return a * b
    if kind == "div":
        return a / b
    return a ** b


def _apply(name: str, a):
    """A one-argument function of the table on a tensor (or a Dual): its method, torch's softplus for softplus."""
    if name == "softplus" and not hasattr(a, "softplus"):  # a tensor (a Dual has the method; asks no torch)
        return torch.nn.functional.softplus(a)
    return getattr(a, name)()


def _min_max(name: str, a, b):
    if isinstance(a, (int, float)):
        a, b = b, a
    if isinstance(b, (int, float)):
        return a.clamp_max(b) if name == "min" else a.clamp_min(b)
    return a.minimum(b) if name == "min" else a.maximum(b)


def _write(t: Tree) -> str:
    kind = t[0]
    if kind == "num":
        return repr(t[1])
    if kind in VARIABLES:
        return kind
    if kind == "neg":
        return f"(-{_write(t[1])})"
    if kind == "call":
        return f"{t[1]}({', '.join(_write(a) for a in t[2:])})"
    return f"({_write(t[1])} {_OP_TEXT[kind]} {_write(t[2])})"
