"""CIEDE2000 as we use it (colour-science) against the test data published with the
formula's implementation notes: G. Sharma, W. Wu, E. N. Dalal, "The CIEDE2000 color-difference
formula: implementation notes, supplementary test data, and mathematical observations",
Color Research & Application 30(1), 2005, Table 1 (typed in from the paper)."""

from __future__ import annotations

import numpy as np
import pytest

from renderhouse.generators.render.delta_e import (
    delta_e00,
    hex_to_lab,
    shifted_by,
    srgb_to_lab,
)

# L1, a1, b1, L2, a2, b2, ΔE00
SHARMA_WU_DALAL = [
    (50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425),
    (50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615),
    (50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412),
    (50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000),
    (50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669),
    (50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195),
    (50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045),
    (50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461),
    (50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065),
    (50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492),
    (50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977),
    (50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030),
    (50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000),
    (50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000),
    (60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644),
    (63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630),
    (61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731),
    (35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645),
    (22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373),
    (36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146),
    (90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441),
    (90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381),
    (6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377),
    (2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082),
]


def test_ciede2000_matches_every_published_pair() -> None:
    table = np.array(SHARMA_WU_DALAL)
    got = delta_e00(table[:, 0:3], table[:, 3:6])
    assert got.shape == (34,)
    errors = np.abs(got - table[:, 6])
    assert errors.max() <= 1e-4, list(zip(np.flatnonzero(errors > 1e-4) + 1, got, strict=False))


def test_ciede2000_is_symmetric_on_the_published_pairs() -> None:
    table = np.array(SHARMA_WU_DALAL)
    forward = delta_e00(table[:, 0:3], table[:, 3:6])
    backward = delta_e00(table[:, 3:6], table[:, 0:3])
    assert np.abs(forward - backward).max() <= 1e-4


@pytest.mark.parametrize(
    ("rgb", "lab"),
    [
        # sRGB primaries and white under D65; published values differ by a few hundredths
        # with the D65 white point's rounding (x, y = 0.3127, 0.3290 vs the 4-digit XYZ)
        ((255, 255, 255), (100.0, 0.0, 0.0)),
        ((255, 0, 0), (53.2408, 80.0925, 67.2032)),
        ((0, 0, 255), (32.2970, 79.1875, -107.8602)),
        ((0, 0, 0), (0.0, 0.0, 0.0)),
    ],
)
def test_srgb_to_lab(rgb: tuple[int, int, int], lab: tuple[float, float, float]) -> None:
    assert np.allclose(srgb_to_lab(rgb), lab, atol=0.05)


def test_shifted_by_lands_on_the_asked_difference() -> None:
    for hex_colour in ("#d22630", "#f3efe6", "#1f3a93"):
        shifted = shifted_by(hex_colour, 3.0)
        d = float(delta_e00(hex_to_lab(shifted), hex_to_lab(hex_colour)))
        assert 2.8 <= d <= 3.2, (hex_colour, shifted, d)
