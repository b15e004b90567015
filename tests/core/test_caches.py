"""Every cache keyed by surface or parameters is bounded, and what it evicted comes back equal.

Issue #11's soak: memory growth after warm-up must level off. These fill each cache past its bound and check its
size and that an evicted entry is recomputed to the same result; and that ``memory.trim`` really hands freed heap
back (the playground calls it once a surface change has settled).
"""

from __future__ import annotations

import gc
import resource
import sys

import numpy as np
import pytest

from optviz.core import critical, custom, engine, memory, regularize, surfaces
from optviz.core.optimizers import OptimizerChoice
from optviz.core.simulate import simulate
from optviz.core.surfaces import get_surface

CHOICES = [OptimizerChoice("sgd", {"lr": 0.05}), OptimizerChoice("adam", {"lr": 0.1})]
STARTS = [(1.5, -1.0), (-2.0, 0.5)]


@pytest.fixture
def small_search(monkeypatch):
    """A coarse critical-point search (8×8 starts, on surfaces with one minimum that is enough) so that a cache can
    be filled past its bound in a second; the caches are emptied before and after, so that no other test sees
    results of the coarse search."""
    monkeypatch.setattr(critical, "GRID", 8)

    def clear():
        surfaces._critical_points.cache_clear()
        surfaces._custom_points.clear()
        regularize._CACHE.clear()

    clear()
    yield
    clear()


def _xy(points) -> list[tuple[float, float, float]]:
    return [(p.x, p.y, p.value) for p in points]


def test_builtin_critical_points_cache_holds_64_and_recomputes_an_evicted_surface_equal(small_search):
    kappas = [1.0 + 0.5 * i for i in range(70)]
    first = surfaces.critical_points(get_surface("quadratic", kappa=kappas[0]))
    assert _xy(first[0]) == [(0.0, 0.0, 0.0)]  # ½(x² + κy²): the origin, nothing else
    for kappa in kappas[1:]:
        surfaces.critical_points(get_surface("quadratic", kappa=kappa))
    info = surfaces._critical_points.cache_info()
    assert info.currsize == info.maxsize == 64 and info.misses == 70
    again = surfaces.critical_points(get_surface("quadratic", kappa=kappas[0]))  # evicted: computed again
    assert surfaces._critical_points.cache_info().misses == 71
    assert again == first


def test_custom_critical_points_cache_holds_64_and_recomputes_an_evicted_formula_equal(small_search):
    def bowl(i: int):
        return custom.formula_surface(f"(x - {i / 100})**2 + 2*(y + 0.5)**2")

    first = surfaces.critical_points(bowl(0))
    assert len(first[0]) == 1 and first[0][0].x == pytest.approx(0.0, abs=1e-12)
    for i in range(1, 70):
        minima, _ = surfaces.critical_points(bowl(i))
        assert minima[0].x == pytest.approx(i / 100, abs=1e-12) and minima[0].y == pytest.approx(-0.5, abs=1e-12)
    assert len(surfaces._custom_points) == 64
    assert (bowl(0).fn, bowl(0).view, bowl(0).key) not in surfaces._custom_points
    assert surfaces.critical_points(bowl(0)) == first


def test_regularised_critical_points_cache_holds_64_and_recomputes_an_evicted_strength_equal(small_search):
    booth = get_surface("booth")

    def penalised(alpha: float):
        return regularize.regularize(booth, regularize.Penalty("l2", alpha))

    first = surfaces.critical_points(penalised(0.5))
    # Booth + (α/2)‖w‖²: the minimum solves (H + αI)w = Hw*, H = [[10, 8], [8, 10]], w* = (1, 3)
    h = np.array([[10.0, 8.0], [8.0, 10.0]])
    expected = np.linalg.solve(h + 0.5 * np.eye(2), h @ [1.0, 3.0])
    assert (first[0][0].x, first[0][0].y) == pytest.approx(tuple(expected), abs=1e-9)
    for i in range(1, 70):
        surfaces.critical_points(penalised(0.5 + i / 10))
    assert len(regularize._CACHE) == regularize.CACHE_SIZE == 64
    assert surfaces.critical_points(penalised(0.5)) == first


def test_engine_keeps_at_most_max_entries_least_recently_used_first_and_never_a_build(monkeypatch):
    monkeypatch.setattr(engine, "MAX_ENTRIES", 3)
    engine.reset()
    formulas = [custom.formula_surface(f"x**2 + {i}*y**2") for i in range(1, 7)]
    try:
        for s in formulas[:3]:
            assert engine.state(s) in ("idle", "unavailable: turned off by OPTVIZ_ENGINE=eager")
        engine._entry(formulas[1]).state = "compiling"  # as if its build were running
        engine.state(formulas[0])  # used again: now the most recent
        for s in formulas[3:]:
            engine.state(s)
        assert engine.entries() == 3
        kept = [s for s in formulas if engine._key(s) in engine._entries]
        assert kept == [formulas[1], formulas[4], formulas[5]]  # the build stays; then the two most recent
    finally:
        engine._entry(formulas[1]).state = "idle"
        engine.reset()


def _mappings(path) -> int:
    with open("/proc/self/maps") as fh:
        return sum(str(path) in line for line in fh)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_an_evicted_kernel_loads_again_into_the_same_mapping_with_equal_paths(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("OPTVIZ_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "optviz-cache"))  # shared
    monkeypatch.delenv("OPTVIZ_ENGINE", raising=False)
    monkeypatch.setattr(engine, "MAX_ENTRIES", 2)
    engine.reset()
    try:
        surface = custom.formula_surface("sin(x)*cos(y) + 0.1*(x**2 + y**2)")
        try:
            lib = engine.library(surface)
        except Exception as exc:  # noqa: BLE001 — no C compiler here
            pytest.skip(f"no fast engine: {exc}")
        path = lib.path
        mapped = _mappings(path)
        assert mapped > 0
        fast = simulate(surface, CHOICES, STARTS, 200, engine="fast")
        del lib
        for _ in range(3):  # evicted and loaded again, three times
            for i in range(3):  # other surfaces push it out
                engine.state(custom.formula_surface(f"x**2 + {i + 2}*y**2"))
            assert engine._key(surface) not in engine._entries
            again = simulate(surface, CHOICES, STARTS, 200)  # auto: loaded from the disk cache, not compiled
            assert again.engine == "fast" and _mappings(path) == mapped  # the loader's mapping, not a new one
            np.testing.assert_array_equal(again.positions, fast.positions)
        eager = simulate(surface, CHOICES, STARTS, 200, engine="eager")
        np.testing.assert_allclose(again.positions, eager.positions, rtol=0, atol=1e-9)
    finally:
        engine.reset()


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


@pytest.mark.skipif(not memory.can_trim(), reason="malloc_trim is glibc's")
def test_trim_hands_freed_heap_back():
    # 80 MB in 2 kB blocks (below the mmap threshold: heap), then every block but one in 50 freed: the heap keeps
    # its pages because a live block sits above them, until trim gives the free pages back.
    blocks = [bytearray(2000) for _ in range(40_000)]
    kept = blocks[::50]
    del blocks
    gc.collect()
    before = _rss_mb()
    assert memory.trim() is True
    after = _rss_mb()
    assert before - after > 40, (before, after)
    assert all(len(b) == 2000 for b in kept)  # the live blocks are untouched
