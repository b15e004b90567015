"""Generated from the specs: the CLI and the session loader refuse the same values with the same message."""

from __future__ import annotations

import pytest

from optviz.cli import main
from optviz.core.optimizers import REGISTRY
from optviz.core.params import fmt
from optviz.core.session import SessionError, session_from_dict
from optviz.core.surfaces import SURFACES

CASES = []
for opt in REGISTRY.values():
    for h in opt.hypers:
        if h.kind == "float":
            CASES.append(("optimizer", opt.name, h, h.high * 2 + 1 if h.high is not None else None))
            CASES.append(("optimizer", opt.name, h, (h.low or 0) - 1))
for surface in SURFACES.values():
    for p in surface.params:
        CASES.append(("surface", surface.name, p, p.high * 2 + 1))
        CASES.append(("surface", surface.name, p, p.low - 1))
CASES = [c for c in CASES if c[3] is not None]


@pytest.mark.parametrize("what,name,spec,value", CASES,
                         ids=[f"{w}-{n}-{s.name}={v:g}" for w, n, s, v in CASES])
def test_cli_and_session_give_the_spec_message(capsys, what, name, spec, value):
    message = str(spec.error(float(value)))
    assert message.startswith(f"Invalid {spec.words}: {fmt(float(value))} (allowed: ")
    if what == "optimizer":
        args = ["--surface", "booth", "--optimizer", f"{name}:{spec.name}={value!r}"]
        data = {"version": 2, "surface": {"name": "booth"},
                "optimizers": [{"name": name, "values": {spec.name: value}}]}
    else:
        args = ["--surface", f"{name}:{spec.name}={value!r}", "--optimizer", "sgd"]
        data = {"version": 2, "surface": {"name": name, "params": {spec.name: value}}}
    assert main(["paths", "--start", "0,0", "--steps", "1", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(message), err
    with pytest.raises(SessionError) as exc:
        session_from_dict(data)
    assert str(exc.value).endswith(message)
