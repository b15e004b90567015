"""The surface picture (optviz.core.field, no Qt): colours that use the colour map, ticks that tell the truth."""

from __future__ import annotations

import numpy as np
import pytest
from playground_helpers import parse_value

from optviz.core.field import GRID, contour_segments, format_value, sample, spread
from optviz.core.surfaces import SURFACES, get_surface


def test_parse_value_reads_what_format_value_writes():
    for value in (0.0, 1.0, 10.0, 1000.0, 2500.0, 1e-5, 2.5e-7, -3.9, 1e6, 0.00012, -78.0, 123456.0):
        assert parse_value(format_value(value)) == pytest.approx(value, rel=5e-3)
    assert format_value(1e-2) == "10⁻²" and format_value(1000) == "1000" and format_value(-2) == "−2"


@pytest.mark.parametrize("name", list(SURFACES))
def test_every_surface_uses_most_of_the_colour_map_and_its_ticks_are_true(name):
    field = sample(SURFACES[name])
    assert field.z.shape == (GRID, GRID) and field.levels == (0.0, 1.0)
    assert spread(field.colour) >= 0.6, field.scale  # the 5th–95th percentile of the colour indices
    # Colour is a monotone function of f: sorting by f sorts the indices.
    order = np.argsort(field.z.ravel(), kind="stable")
    assert np.all(np.diff(field.colour.ravel()[order]) >= -1e-12)
    # Every colour-bar tick sits where the picture's colour index is that of the value it shows.
    assert len(field.ticks) >= 3
    positions = [p for p, _ in field.ticks]
    assert positions == sorted(positions) and all(0.0 <= p <= 1.0 for p in positions)
    colour, z = field.colour.ravel()[order], field.z.ravel()[order]
    span = float(z[-1] - z[0])
    for position, text in field.ticks:
        value = parse_value(text)
        assert z[0] - 1e-9 * span <= value <= z[-1] + 1e-9 * span
        shown_at = float(np.interp(position, colour, z))  # f of the pixels with this colour
        assert shown_at == pytest.approx(value, rel=0.02, abs=0.01 * span), text


def test_log_where_values_span_decades_linear_where_that_spreads_equalised_otherwise():
    assert sample(SURFACES["goldstein_price"]).scale == "log"
    assert sample(SURFACES["quadratic"]).scale == "linear"
    camel = sample(SURFACES["six_hump_camel"])
    assert "rank" in camel.scale  # linear would leave the humps in one dark colour
    linear = (camel.z - camel.z.min()) / (camel.z.max() - camel.z.min())
    assert spread(linear) < 0.6 <= spread(camel.colour)


def test_parameters_change_the_picture_and_its_key():
    field = sample(get_surface("rastrigin", A=30.0))
    assert field.key == ("rastrigin", (("A", 30.0),))
    assert field.minima is None  # critical points are asked for separately (off the GUI thread)


def test_contours_cross_the_level_where_the_values_do():
    xs = ys = np.linspace(-1.0, 1.0, 41)
    z = np.add.outer(ys**2, xs**2)  # circles: r² = level
    x, y = contour_segments(z, xs, ys, np.array([0.25, 0.64]))
    r = np.hypot(x, y)
    assert len(x) % 2 == 0 and len(x) > 0
    assert np.all((np.abs(r - 0.5) < 0.01) | (np.abs(r - 0.8) < 0.01))
