"""The finite-temperature analysis against hand-computed numbers: weighted lines, cubic fits, moduli, errors."""

import numpy as np
import pytest

from aiida_limlip.analysis import thermal


def test_weighted_line_matches_the_normal_equations():
    """A weighted fit of fixed numbers against the closed-form least-squares sums (Numerical Recipes 15.2)."""
    x = np.array([-0.01, -0.005, 0.0, 0.005, 0.01])
    y = np.array([-0.19, -0.08, 0.02, 0.11, 0.20])
    sigma = np.array([0.01, 0.02, 0.01, 0.02, 0.01])
    w = 1 / sigma**2
    s, sx, sy, sxx, sxy = w.sum(), (w * x).sum(), (w * y).sum(), (w * x * x).sum(), (w * x * y).sum()
    delta = s * sxx - sx**2
    fit = thermal.weighted_line(x, y, sigma)
    assert fit['slope'] == pytest.approx((s * sxy - sx * sy) / delta, rel=1e-12)
    assert fit['intercept'] == pytest.approx((sxx * sy - sx * sxy) / delta, rel=1e-12)
    assert fit['slope_error'] == pytest.approx(np.sqrt(s / delta), rel=1e-12)
    assert fit['intercept_error'] == pytest.approx(np.sqrt(sxx / delta), rel=1e-12)
    residual = y - fit['slope'] * x - fit['intercept']
    assert fit['reduced_chi2'] == pytest.approx(np.sum(w * residual**2) / 3, rel=1e-12)
    # Without errors: ordinary least squares, as numpy's.
    unweighted = thermal.weighted_line(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    _, covariance = np.polyfit(x, y, 1, cov=True)
    assert unweighted['slope'] == pytest.approx(slope) and unweighted['intercept'] == pytest.approx(intercept)
    assert unweighted['slope_error'] == pytest.approx(np.sqrt(covariance[0, 0]), rel=1e-9)
    with pytest.raises(ValueError, match='two distinct'):
        thermal.weighted_line([0.01, 0.01], [1.0, 2.0])


@pytest.mark.parametrize('components', [[0, 3], [0, 1, 2, 3, 4, 5], [1, 5]])
def test_cubic_fit_recovers_known_constants(components):
    """Stresses made from known C11, C12, C44 and a residual pressure give those constants back exactly."""
    c11, c12, c44, pressure = 13.4, 11.3, 9.6, 0.05
    tensor = thermal.cubic_tensor(c11, c12, c44)
    runs = [(None, 0.0)] + [(c, s) for c in components for s in (-0.01, -0.005, 0.005, 0.01)]
    stresses, errors = [], []
    for component, magnitude in runs:
        strain = np.zeros(6)
        if component is not None:
            strain[component] = magnitude
        stresses.append(tensor @ strain - pressure * np.array([1, 1, 1, 0, 0, 0]))
        errors.append(np.full(6, 0.003))
    fits = thermal.fit_cubic_constants([c for c, _ in runs], [m for _, m in runs], np.array(stresses), errors)
    assert fits['C11']['value'] == pytest.approx(c11, rel=1e-10)
    assert fits['C12']['value'] == pytest.approx(c12, rel=1e-10)
    assert fits['C44']['value'] == pytest.approx(c44, rel=1e-10)
    assert fits['C11']['intercept'] == pytest.approx(-pressure, abs=1e-12)
    # Three times the normal strains: the C11 line has three times the points, so a sqrt(3) smaller error.
    normal = len({0, 1, 2} & set(components))
    assert fits['C11']['points'] == 4 * normal + normal


def test_cubic_fit_errors_scale_with_the_stress_errors():
    """Halving every stress error halves the errors of the constants (they are propagated, not residual)."""
    rng = np.random.default_rng(3)
    runs = [(None, 0.0), (0, -0.01), (0, 0.01), (3, -0.01), (3, 0.01)]
    stresses = rng.normal(size=(5, 6))
    errors = np.full((5, 6), 0.02)
    wide = thermal.fit_cubic_constants([c for c, _ in runs], [m for _, m in runs], stresses, errors)
    narrow = thermal.fit_cubic_constants([c for c, _ in runs], [m for _, m in runs], stresses, errors / 2)
    for key in ('C11', 'C12', 'C44'):
        assert narrow[key]['error'] == pytest.approx(wide[key]['error'] / 2, rel=1e-12)
    with pytest.raises(ValueError, match='C44 needs'):
        thermal.fit_cubic_constants([None, 0, 0], [0.0, -0.01, 0.01], stresses[:3], errors[:3])


def test_cubic_moduli_against_the_textbook_formulas():
    """Voigt/Reuss averages of a cubic crystal in closed form (Hill 1952), Young, Poisson and A^U (Ranganathan and
    Ostoja-Starzewski 2008), for Li-like constants."""
    c11, c12, c44 = 13.4, 11.3, 9.6
    bulk = (c11 + 2 * c12) / 3
    shear_voigt = (c11 - c12 + 3 * c44) / 5
    shear_reuss = 5 * (c11 - c12) * c44 / (4 * c44 + 3 * (c11 - c12))
    shear = (shear_voigt + shear_reuss) / 2
    moduli = thermal.cubic_moduli(c11, c12, c44)
    assert moduli['bulk_modulus_vrh'] == pytest.approx(bulk, rel=1e-9)
    assert moduli['shear_modulus_vrh'] == pytest.approx(shear, rel=1e-9)
    assert moduli['youngs_modulus'] == pytest.approx(9 * bulk * shear / (3 * bulk + shear), rel=1e-9)
    assert moduli['poisson_ratio'] == pytest.approx((3 * bulk - 2 * shear) / (2 * (3 * bulk + shear)), rel=1e-9)
    assert moduli['universal_anisotropy'] == pytest.approx(5 * shear_voigt / shear_reuss - 5, rel=1e-9)
    assert moduli['zener_anisotropy'] == pytest.approx(2 * c44 / (c11 - c12))


def hill_moduli(c11, c12, c44):
    """Bulk, Hill shear modulus and Poisson ratio of a cubic crystal in closed form (vectorised)."""
    bulk = (c11 + 2 * c12) / 3
    shear = ((c11 - c12 + 3 * c44) / 5 + 5 * (c11 - c12) * c44 / (4 * c44 + 3 * (c11 - c12))) / 2
    return {
        'bulk_modulus_vrh': bulk,
        'shear_modulus_vrh': shear,
        'poisson_ratio': (3 * bulk - 2 * shear) / (2 * (3 * bulk + shear)),
    }


def test_propagated_errors_match_sampling():
    """Linear propagation agrees with the spread of the moduli over 20,000 sampled constants to 5 %."""
    values, errors = [13.4, 11.3, 9.6], [0.2, 0.15, 0.1]
    constants = {key: {'value': v, 'error': e} for key, v, e in zip(('C11', 'C12', 'C44'), values, errors, strict=True)}
    propagated = thermal.cubic_moduli_with_errors(constants)
    draws = np.random.default_rng(7).normal(values, errors, size=(20000, 3))
    sampled = hill_moduli(draws[:, 0], draws[:, 1], draws[:, 2])
    for key, spread in sampled.items():
        assert propagated[key]['error'] == pytest.approx(np.std(spread), rel=0.05), key
    with pytest.raises(ValueError, match='Born stability'):
        thermal.cubic_moduli_with_errors({**constants, 'C12': {'value': 13.5, 'error': 0.1}})


def test_thermal_expansion_of_a_straight_line():
    """a(T) = 3.50 + 2e-5 T: the slope, a(0 K) and alpha at the middle of the range come back exactly."""
    temperatures = [100.0, 200.0, 300.0, 400.0]
    lattice = [3.50 + 2e-5 * t for t in temperatures]
    fit = thermal.thermal_expansion(temperatures, lattice, [1e-4] * 4)
    assert fit['extrapolated_lattice_constant'] == pytest.approx(3.50, abs=1e-12)
    assert fit['slope'] == pytest.approx(2e-5, rel=1e-9)
    assert fit['thermal_expansion_coefficient'] == pytest.approx(2e-5 / (3.50 + 2e-5 * 250), rel=1e-9)
    assert fit['reference_temperature'] == 250.0
    assert thermal.thermal_expansion([300.0], [3.5], [1e-3]) == {}


def test_npt_statistics_flags_a_transformed_box():
    """A box that went tetragonal (a Bain-path transformation) is not cubic; a noisy cubic one is."""
    steps = np.arange(0, 100, 10)
    cubic = {
        'step': steps,
        'cell_lengths': np.tile([10.5, 10.51, 10.49], (10, 1)),
        'pressure': np.zeros(10),
        'temperature': np.full(10, 300.0),
    }
    stats = thermal.npt_statistics(cubic, 20, [3, 3, 3])
    assert stats['cubic'] and stats['lattice_constant']['mean'] == pytest.approx(3.5)
    assert stats['lattice_constant']['samples'] == 8
    tetragonal = {**cubic, 'cell_lengths': np.tile([11.6, 11.6, 9.3], (10, 1))}  # MEAM at 10 K
    noisy = {**cubic, 'cell_lengths': np.tile([10.62, 10.40, 10.50], (10, 1))}  # a short run of 54 atoms at 300 K
    assert thermal.npt_statistics(noisy, 20, [3, 3, 3])['cubic']
    assert not thermal.npt_statistics(tetragonal, 20, [3, 3, 3])['cubic']
    with pytest.raises(ValueError, match='shorter than its equilibration'):
        thermal.npt_statistics(cubic, 200, [3, 3, 3])


@pytest.mark.parametrize(
    ('temperatures', 'allow', 'message'),
    [
        ([], False, 'empty'),
        ([100.0, -5.0], False, 'above 0 K'),
        ([0.0], False, 'above 0 K'),
        ([300.0, 300.0], False, 'distinct'),
        ([300.0, 500.0], False, 'melting point'),
        ([300.0, 500.0], True, None),
        ([10.0, 453.0], False, None),
    ],
)
def test_temperatures_error(temperatures, allow, message):
    error = thermal.temperatures_error(temperatures, allow)
    assert (error is None) if message is None else (message in error)


def test_temperature_labels():
    assert thermal.temperature_label(300) == 'T_300'
    assert thermal.temperature_label(300.5) == 'T_300p5'
    assert thermal.temperature_label(77.25) == 'T_77p25'


def test_figure2_csv_and_plot(tmp_path):
    """The CSV holds every point of every potential and the measured ones with their sources; the PNG is drawn."""
    import csv

    from aiida_limlip.analysis import figure2

    data = {
        'SNAP': {
            'lattice_constant': {'temperatures': [100.0, 300.0], 'values': [3.50, 3.49], 'errors': [0.003, 0.006]},
            'C44': {'temperatures': [100.0, 300.0], 'values': [9.8, float('nan')], 'errors': [0.2, float('nan')]},
        },
        'MEAM': {'C11': {'temperatures': [300.0], 'values': [12.5], 'errors': [0.4]}},
    }
    rows = list(csv.DictReader(figure2.to_csv(data).splitlines()))
    assert len([r for r in rows if r['potential'] != 'experiment']) == 5
    nan_row = next(
        r for r in rows if r['potential'] == 'SNAP' and r['quantity'] == 'C44' and r['temperature_K'] == '300'
    )
    assert nan_row['value'] == ''
    measured = [r for r in rows if r['potential'] == 'experiment']
    assert {(r['quantity'], r['temperature_K']) for r in measured} >= {('lattice_constant', '110'), ('C44', '293')}
    assert all(r['source'] for r in measured)
    path = figure2.plot_figure2(data, tmp_path / 'fig2.png')
    assert path.stat().st_size > 10_000
