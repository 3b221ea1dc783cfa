"""Surface-kinetics analysis against hand-computed numbers (simulations: tests/workchains/test_surface_kinetics.py)."""

import numpy as np
import pytest

from aiida_limlip.analysis import surface_kinetics as sk


def test_bep_fit_against_hand_computed_least_squares():
    """Four facets and one excluded: slope, intercept and r^2 from the closed-form sums."""
    adsorption = {'100': -1.60, '110': -1.50, '211': -1.45, '310': -1.55, '111': -1.70}
    barriers = {'100': 0.060, '110': 0.030, '211': 0.020, '310': 0.040, '111': 0.300}
    fit = sk.bep_fit(adsorption, barriers, exclude=['111'])
    x = np.array([-1.60, -1.50, -1.45, -1.55])
    y = np.array([0.060, 0.030, 0.020, 0.040])
    n = len(x)
    slope = (n * (x * y).sum() - x.sum() * y.sum()) / (n * (x * x).sum() - x.sum() ** 2)
    intercept = (y.sum() - slope * x.sum()) / n
    r2 = 1 - ((y - slope * x - intercept) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert fit['slope'] == pytest.approx(slope, rel=1e-12)
    assert fit['intercept'] == pytest.approx(intercept, rel=1e-12)
    assert fit['r2'] == pytest.approx(r2, rel=1e-12)
    assert fit['excluded'] == ['111'] and '111' not in fit['facets']
    # (111) in the fit lowers r^2: it is the outlier.
    assert sk.bep_fit(adsorption, barriers)['r2'] < fit['r2']
    with pytest.raises(ValueError, match='at least three'):
        sk.bep_fit({'100': -1.6, '110': -1.5}, {'100': 0.06, '110': 0.03})
    with pytest.raises(ValueError, match='without both'):
        sk.bep_fit({'100': -1.6, '110': -1.5, '211': -1.4}, {'100': 0.06, '110': 0.03})


def test_rate_ratios():
    """A barrier 0.1 eV lower hops exp(0.1 / kT) = 47.8 times faster at 300 K."""
    ratios = sk.rate_ratios({'100': 0.15, '110': 0.05}, '100', 300.0)
    assert ratios['100'] == 1.0
    assert ratios['110'] == pytest.approx(np.exp(0.1 / (8.617333e-5 * 300)), rel=1e-5)  # kB in eV/K (CODATA)
    with pytest.raises(ValueError, match='reference'):
        sk.rate_ratios({'110': 0.05}, '100')


def test_surface_grid():
    grid = sk.surface_grid([3, 4])
    assert grid.shape == (12, 2) and grid.min() == 0.0 and grid.max() < 1.0
    assert list(grid[1]) == [0.0, 0.25]
    with pytest.raises(ValueError, match='2x2'):
        sk.surface_grid([1, 4])


def test_periodic_minima():
    """A bcc(100)-like landscape, lowest at the cell centre (the hollow): one minimum there, none at the edges; a
    flat-bottomed well counts once; minima across the periodic boundary are found."""
    n = 8
    x, y = np.meshgrid(np.arange(n) / n, np.arange(n) / n, indexing='ij')
    landscape = np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y)
    assert sk.periodic_minima(landscape) == [(4, 4)]
    flat = landscape.copy()
    flat[4, 5] = flat[4, 4]
    assert len(sk.periodic_minima(flat)) == 1
    shifted = np.roll(landscape, 4, axis=0)  # the minimum moves to the boundary row
    assert sk.periodic_minima(shifted) == [(0, 4)]
    two = -np.cos(4 * np.pi * x)  # two rows of equal minima, at x = 0 and 1/2
    assert len(sk.periodic_minima(two)) == 2
