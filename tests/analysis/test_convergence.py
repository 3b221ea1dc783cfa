"""Tests of the convergence criterion."""

import pytest

from aiida_limlip.analysis.convergence import converged_setting


def test_cutoff_convergence():
    cutoffs = [20, 30, 40, 50, 60]
    energies = [-1.0, -1.05, -1.0595, -1.0602, -1.0600]  # within 1 meV of the last from 40 on
    assert converged_setting(cutoffs, energies, 1e-3) == 40


def test_a_point_outside_the_tolerance_resets_convergence():
    """Oscillation: 30 is close by chance but 40 is not, so only 50 on counts as converged."""
    assert converged_setting([20, 30, 40, 50, 60], [-1.0, -1.0601, -1.058, -1.0603, -1.0600], 1e-3) == 50


def test_kspacing_smaller_is_more_accurate():
    spacings = [0.2, 0.1, 0.05, 0.02]
    energies = [-1.02, -1.0605, -1.0599, -1.0600]
    assert converged_setting(spacings, energies, 1e-3, higher_is_more_accurate=False) == 0.1


def test_needs_two_points():
    with pytest.raises(ValueError, match='at least two'):
        converged_setting([1.0], [1.0], 1e-3)
