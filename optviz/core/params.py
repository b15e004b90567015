"""One vocabulary for settings: a bounded, named value (:class:`Spec`), its validator and its messages.

Optimizer hyperparameters, surface parameters, schedule parameters, ``TrainConfig`` fields and session keys are
all ``Spec``s. The CLI builds its flags and help from them, the GUI builds its editors from them (never with bounds
of its own), and the one validator gives the same torch-style message everywhere::

    Invalid learning rate: -1 (allowed: a number in [0, 10])

Also here: the ``NAME[:key=value,…]`` grammar of the command line (:func:`parse_named`) and the one labelling
scheme for repeated names (:func:`unique_labels`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

KINDS = ("float", "int", "bool", "choice", "str")
MAX_QUOTED = 60  # characters of a bad value quoted in a message
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


class ParamError(ValueError):
    """A setting's name or value that its spec does not allow; the message names it and what is allowed."""


def fmt(x: Any) -> str:
    """A value as messages and tooltips show it: ``0.001``, ``1e-08``, ``true``."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def quote(value: Any) -> str:
    """``repr(value)``, cut to about :data:`MAX_QUOTED` characters (a 10 MB string is not echoed whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return "a huge integer"
    text = repr(value)
    return text if len(text) <= MAX_QUOTED else text[: MAX_QUOTED - 1] + "…"


@dataclass(frozen=True)
class Spec:
    """A named value with a kind, a default and what is allowed.

    ``low``/``high`` bound numbers (``None``: unbounded on that side); ``low_open``/``high_open`` exclude the
    bound itself. ``optional`` admits ``None`` (shown as ``off_text``). ``label`` is the words used in messages
    ("learning rate"); ``title`` the words in a form ("Learning rate"); ``log`` asks for a log-scale editor.
    """

    name: str
    kind: str = "float"
    default: Any = 0.0
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    log: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    off_text: str = "off"
    label: str = ""
    title: str = ""
    doc: str = ""
    step: float | None = None  # an editor's arrow step (None: the editor decides from the range)
    flag: str = ""  # the CLI option (default: --name with dashes)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Spec {self.name}: unknown kind {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"Spec {self.name}: a choice needs choices")
        if self.default is not None or not self.optional:
            object.__setattr__(self, "default", self.validate(self.default))

    # ---- words -------------------------------------------------------------------------------------------------

    @property
    def words(self) -> str:
        return self.label or self.name.replace("_", " ")

    @property
    def heading(self) -> str:
        return self.title or self.name

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        """What is allowed, in words: ``a number in (0, 1]``, ``an integer in [1, 5000]``, ``auto, cpu, cuda``."""
        if self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = ", ".join(self.choices)
        elif self.kind == "str":
            text = "a non-empty text"
        else:
            noun = "a number" if self.kind == "float" else "an integer"
            if self.low is None and self.high is None:
                text = noun
            elif self.high is None:
                text = f"{noun} {'>' if self.low_open else '≥'} {fmt(self.low)}"
            elif self.low is None:
                text = f"{noun} {'<' if self.high_open else '≤'} {fmt(self.high)}"
            else:
                lo, hi = "(" if self.low_open else "[", ")" if self.high_open else "]"
                text = f"{noun} in {lo}{fmt(self.low)}, {fmt(self.high)}{hi}"
        return text + (f", or {self.off_text}" if self.optional else "")

    def error(self, value: Any) -> ParamError:
        shown = fmt(value) if isinstance(value, float) and math.isfinite(value) else quote(value)
        return ParamError(f"Invalid {self.words}: {shown} (allowed: {self.allowed()})")

    # ---- checking ----------------------------------------------------------------------------------------------

    def contains(self, number: float) -> bool:
        """Whether a number lies in the range (ends as declared)."""
        if not math.isfinite(number):
            return False
        if self.low is not None and (number < self.low or (self.low_open and number == self.low)):
            return False
        return not (self.high is not None and (number > self.high or (self.high_open and number == self.high)))

    def validate(self, value: Any) -> Any:
        """``value`` (a typed value, as JSON or Python gives it) in this spec's type, or ParamError.

        Booleans are not numbers and numbers are not booleans; an int spec takes integral floats (``3.0``).
        """
        if value is None and self.optional:
            return None
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            raise self.error(value)
        if self.kind == "choice":
            if isinstance(value, str) and value.strip().lower() in self.choices:
                return value.strip().lower()
            raise self.error(value)
        if self.kind == "str":
            if isinstance(value, str) and value.strip():
                return value
            raise self.error(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(value)
        try:
            number = float(value)
        except OverflowError:
            raise self.error(value) from None
        if self.kind == "int":
            if not number.is_integer() or not self.contains(number):
                raise self.error(value)
            return int(value)
        if not self.contains(number):
            raise self.error(number)
        return number

    def parse(self, text: str) -> Any:
        """A value typed as text (the CLI, a ``k=v`` option) in this spec's type, or ParamError."""
        if not isinstance(text, str):
            return self.validate(text)
        t = text.strip()
        if self.optional and t.lower() in ("none", "null", self.off_text.lower()):
            return None
        if self.kind == "bool":
            if t.lower() in _TRUE + _FALSE:
                return t.lower() in _TRUE
            raise self.error(text)
        if self.kind in ("float", "int"):
            try:
                number: float | int = int(t) if self.kind == "int" and t.lstrip("+-").isdigit() else float(t)
            except (ValueError, OverflowError):
                raise self.error(text) from None
            return self.validate(number)
        return self.validate(t)


# ---- groups of specs -------------------------------------------------------------------------------------------

def find(specs: Sequence[Spec], name: str, owner: str) -> Spec:
    """The spec called ``name``, or ParamError naming ``owner`` ("optimizer adam") and the names it has."""
    for s in specs:
        if s.name == name:
            return s
    allowed = ", ".join(s.name for s in specs) or "none"
    raise ParamError(f"Unknown parameter {quote(name)} for {owner} (allowed: {allowed})")


def defaults(specs: Iterable[Spec]) -> dict[str, Any]:
    return {s.name: s.default for s in specs}


def resolve(specs: Sequence[Spec], values: Mapping[str, Any] | None, owner: str, *, text: bool = False) -> dict:
    """Defaults overridden by ``values``, each checked (parsed from text when ``text``); unknown names refused."""
    out = defaults(specs)
    for key, value in (values or {}).items():
        spec = find(specs, key, owner)
        out[key] = spec.parse(value) if text and isinstance(value, str) else spec.validate(value)
    return out


# ---- the command line's NAME[:key=value,…] -------------------------------------------------------------------

def parse_named(text: str, what: str) -> tuple[str, dict[str, str]]:
    """``"adam:lr=0.01,beta1=0.8"`` → ``("adam", {"lr": "0.01", "beta1": "0.8"})``; ``what`` names it in messages.

    Values stay text (each spec parses its own); a repeated key, a missing ``=`` or an empty name is an error.
    """
    name, _, rest = text.partition(":")
    if not name.strip():
        raise ParamError(f"Malformed {what} {quote(text)} (expected NAME or NAME:key=value,…)")
    values: dict[str, str] = {}
    for item in (p.strip() for p in rest.split(",")):
        if not item:
            continue
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ParamError(f"Malformed {what} option {quote(item)} in {quote(text)} (expected key=value)")
        if key in values:
            raise ParamError(f"Repeated {what} option {quote(key)} in {quote(text)} (give each key once)")
        values[key] = value.strip()
    return name.strip().lower().replace("-", "_") if what == "surface" else name.strip().lower(), values


def unique_labels(names: Sequence[str]) -> list[str]:
    """Labels for a list of names, unique: the name, then ``name#2``, ``name#3`` … where a name repeats."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


# ---- dataclass fields described by specs (TrainConfig) ---------------------------------------------------------

def field(spec: Spec) -> Any:
    """A dataclass field whose default and checks come from ``spec`` (read back with :func:`field_specs`)."""
    return dataclasses.field(default=spec.default, metadata={"spec": spec})


def field_specs(cls: type) -> dict[str, Spec]:
    """The specs of a dataclass's fields made with :func:`field`, by field name."""
    return {f.name: f.metadata["spec"] for f in dataclasses.fields(cls) if "spec" in f.metadata}
