"""Finite-temperature bulk properties from MD averages (no AiiDA): a(T), thermal expansion, C_ij(T).

Conventions as in :mod:`aiida_limlip.analysis.elastic`: Voigt order xx, yy, zz, yz, xz, xy, engineering shear
strains, stresses in GPa with positive = tensile, so that sigma = C epsilon.

Errors: the standard error of an MD average is the blocked one (:func:`~.statistics.block_standard_error`); a fit
weights each point by it, and the standard error of a fitted parameter is propagated from those weights (it shrinks
as 1/sqrt(run length)). The reduced chi^2 of each fit says whether the points scatter as their errors say (about 1)
or more (a model error: nonlinearity, an unequilibrated run).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .statistics import describe

#: Melting point of Li (K) at ambient pressure.
MELTING_POINT = 453.65
#: Below about this temperature (K) bcc Li transforms martensitically (to 9R/fcc); bcc MD there is metastable.
MARTENSITIC_TEMPERATURE = 78.0
#: The largest strain magnitude accepted: Li's C' = (C11 - C12)/2 is only ~1 GPa, and MEAM's C11 from central
#: differences is 0.1 % off its small-strain value at 1 % strain but 4 % off at 2 % (docs: finite-temperature).
MAX_STRAIN = 0.02

#: The largest relative spread of the mean box sides for which the crystal counts as still cubic. A transformed box
#: is far beyond it (MEAM's bcc box going along the Bain path at 10 K: 22 %). Li's shear constant C' is only ~1 GPa,
#: so a small box fluctuates in shape: rms strains sqrt(kT / (C' V)) are 6 % at 300 K for 54 atoms, 2 % for 432, and
#: the mean sides of a short run can differ by a few per cent (measured 1.2 % for 54 atoms over 2 ps).
MAX_BOX_SPREAD = 0.05

#: Measured lattice constants of Li (Å) for Fig. 2: (T in K, a, its uncertainty or None, source).
EXPERIMENTAL_LATTICE_CONSTANTS = (
    (110.0, 3.490, 0.003, 'Beg and Nielsen, Phys. Rev. B 14, 4266 (1976)'),
    (298.0, 3.510, None, 'Nadler and Kempter, Anal. Chem. 31, 2109 (1959)'),
    (424.0, 3.537, 0.003, 'Beg and Nielsen, Phys. Rev. B 14, 4266 (1976)'),
)


def temperature_label(temperature: float) -> str:
    """Return the port label of a temperature (K): ``T_300`` for 300 K, ``T_300p5`` for 300.5 K."""
    value = float(temperature)
    text = f'{value:.3f}'.rstrip('0').rstrip('.')
    return 'T_' + text.replace('.', 'p')


def temperatures_error(temperatures: Sequence[float], allow_above_melting: bool = False) -> str | None:
    """Return why a list of MD temperatures (K) cannot be run, or None.

    Empty lists, repeated, zero or negative temperatures are refused, and temperatures above Li's melting point
    unless ``allow_above_melting``.
    """
    values = [float(value) for value in temperatures]
    if not values:
        return 'the list of temperatures is empty'
    if min(values) <= 0:
        return f'temperatures must be above 0 K, got {min(values)} K'
    if len({temperature_label(value) for value in values}) != len(values):
        return f'temperatures must be distinct, got {values}'
    hottest = max(values)
    if hottest > MELTING_POINT and not allow_above_melting:
        return (
            f'{hottest} K is above the melting point of Li ({MELTING_POINT} K): the crystal would melt and a(T) and '
            'C_ij(T) mean nothing; set `allow_above_melting` to run it anyway (e.g. for a superheating study)'
        )
    return None


def lattice_constant_series(cell_lengths: np.ndarray, repeat: Sequence[int]) -> np.ndarray:
    """Return the cubic lattice constant (Å) of each sample: the mean of the box sides, each over its repeat."""
    lengths = np.asarray(cell_lengths, dtype=float).reshape(-1, 3)
    return np.mean(lengths / np.asarray(repeat, dtype=float), axis=1)


def npt_statistics(thermo: dict[str, np.ndarray], first_step: int, repeat: Sequence[int]) -> dict:
    """Return the statistics of one NPT run from ``first_step`` on.

    Returns
    -------
    dict
        ``lattice_constant`` (Å), ``box`` (each side, Å), ``pressure`` (GPa), ``temperature`` (K): each as ``mean``,
        ``std``, ``sem`` (blocked standard error) and ``samples``; ``box_spread``, the relative spread of the mean
        sides per repeat, and ``cubic``, whether it is at most :data:`MAX_BOX_SPREAD` (a larger one means the crystal
        transformed, e.g. bcc along the Bain path, and a is no lattice constant).

    Raises
    ------
    ValueError
        If nothing was recorded from ``first_step`` on.
    """
    mask = np.asarray(thermo['step']) >= first_step
    if not mask.any():
        raise ValueError(f'the run recorded nothing from step {first_step} on: it is shorter than its equilibration')
    lengths = np.asarray(thermo['cell_lengths'], dtype=float)[mask]
    sides = np.mean(lengths, axis=0) / np.asarray(repeat, dtype=float)
    spread = float((sides.max() - sides.min()) / sides.mean())
    return {
        'cubic': spread <= MAX_BOX_SPREAD,
        'box_spread': spread,
        'lattice_constant': describe(lattice_constant_series(lengths, repeat)),
        'box': [describe(lengths[:, axis]) for axis in range(3)],
        'pressure': describe(np.asarray(thermo['pressure'])[mask]),
        'temperature': describe(np.asarray(thermo['temperature'])[mask]),
    }


def weighted_line(x: Sequence[float], y: Sequence[float], sigma: Sequence[float] | None = None) -> dict:
    """Fit ``y = slope x + intercept`` by weighted least squares.

    Parameters
    ----------
    x, y
        The points.
    sigma
        The standard error of each y; None (or any non-positive or non-finite one) weights every point equally.

    Returns
    -------
    dict
        ``slope``, ``intercept``, their standard errors ``slope_error`` and ``intercept_error`` propagated from
        ``sigma`` (from the residuals if unweighted), their ``covariance``, ``reduced_chi2`` (NaN with 2 points) and
        ``points``.

    Raises
    ------
    ValueError
        With fewer than two distinct x.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(set(x.tolist())) < 2:
        raise ValueError('a line needs at least two distinct strains (or temperatures)')
    weighted = sigma is not None and np.all(np.isfinite(sigma)) and np.all(np.asarray(sigma, dtype=float) > 0)
    weights = 1.0 / np.asarray(sigma, dtype=float) ** 2 if weighted else np.ones_like(x)
    design = np.vstack([x, np.ones_like(x)]).T
    normal = design.T @ (weights[:, None] * design)
    covariance = np.linalg.inv(normal)
    slope, intercept = covariance @ (design.T @ (weights * y))
    residuals = y - (slope * x + intercept)
    dof = x.size - 2
    chi2 = float(np.sum(weights * residuals**2))
    reduced = chi2 / dof if dof > 0 else float('nan')
    if not weighted:
        # No errors given: scale by the residual variance (ordinary least squares); infinite with two points.
        covariance = covariance * (reduced if dof > 0 else float('inf'))
    return {
        'slope': float(slope),
        'intercept': float(intercept),
        'slope_error': float(np.sqrt(covariance[0, 0])),
        'intercept_error': float(np.sqrt(covariance[1, 1])),
        'covariance': float(covariance[0, 1]),
        'reduced_chi2': reduced,
        'points': int(x.size),
    }


def thermal_expansion(temperatures: Sequence[float], lattice: Sequence[float], errors: Sequence[float]) -> dict:
    """Fit a(T) with a straight line; return a(0 K) extrapolated and the linear thermal expansion coefficient.

    Parameters
    ----------
    temperatures
        Temperatures (K).
    lattice, errors
        Mean lattice constant (Å) at each temperature and its standard error (Å).

    Returns
    -------
    dict
        ``slope`` (Å/K) and ``slope_error``, ``extrapolated_lattice_constant`` a(0 K) (Å) and its error,
        ``thermal_expansion_coefficient`` alpha = (da/dT) / a at the middle of the range (1/K) and its error, the
        ``reference_temperature`` of alpha (K), ``reduced_chi2``; an empty dict for fewer than two temperatures.
    """
    if len(temperatures) < 2:
        return {}
    fit = weighted_line(temperatures, lattice, errors)
    middle = 0.5 * (min(temperatures) + max(temperatures))
    a_middle = fit['intercept'] + fit['slope'] * middle
    return {
        'slope': fit['slope'],
        'slope_error': fit['slope_error'],
        'extrapolated_lattice_constant': fit['intercept'],
        'extrapolated_lattice_constant_error': fit['intercept_error'],
        'thermal_expansion_coefficient': fit['slope'] / a_middle,
        'thermal_expansion_coefficient_error': fit['slope_error'] / a_middle,
        'reference_temperature': middle,
        'reduced_chi2': fit['reduced_chi2'],
    }


#: For each cubic constant, the (strained Voigt component, stress component) pairs that measure it.
CUBIC_PAIRS = {
    'C11': ((0, 0), (1, 1), (2, 2)),
    'C12': ((0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)),
    'C44': ((3, 3), (4, 4), (5, 5)),
}


def fit_cubic_constants(
    components: Sequence[int | None],
    magnitudes: Sequence[float],
    stresses: np.ndarray,
    errors: np.ndarray,
) -> dict:
    """Fit C11, C12 and C44 of a cubic crystal to MD-averaged stresses under single-component strains.

    Every equivalent (strain, stress) pair of a constant is pooled into one weighted line through the strained and the
    unstrained runs: C11 from sigma_ii under epsilon_ii, C12 from sigma_jj under epsilon_ii (j != i), C44 from
    sigma_ij under the engineering shear gamma_ij. The intercepts absorb the residual stress of the unstrained box.

    Parameters
    ----------
    components, magnitudes
        The strain of each run: Voigt component (None for the unstrained run) and engineering strain.
    stresses, errors
        Mean Voigt stress (GPa, positive = tensile) of each run, shape (n, 6), and its standard error.

    Returns
    -------
    dict
        For each of C11, C12, C44: ``value`` (GPa), ``error`` (standard error of the fitted slope, GPa),
        ``reduced_chi2``, ``points``, ``intercept`` (GPa).

    Raises
    ------
    ValueError
        If a constant has no strained run with two distinct strains.
    """
    stresses = np.asarray(stresses, dtype=float)
    errors = np.asarray(errors, dtype=float)
    strained = {c for c in components if c is not None}
    fits = {}
    for name, pairs in CUBIC_PAIRS.items():
        x, y, sigma = [], [], []
        used = [(strain, stress) for strain, stress in pairs if strain in strained]
        if not used:
            raise ValueError(f'{name} needs a strain of Voigt component {" or ".join(str(p[0]) for p in pairs)}')
        measured = sorted({stress for _, stress in used})
        for index, (component, magnitude) in enumerate(zip(components, magnitudes, strict=True)):
            # The unstrained run gives one point at zero strain per stress component the constant is read from.
            stress_components = measured if component is None else [s for c, s in used if c == component]
            for stress in stress_components:
                x.append(0.0 if component is None else float(magnitude))
                y.append(stresses[index, stress])
                sigma.append(errors[index, stress])
        fit = weighted_line(x, y, sigma)
        fits[name] = {
            'value': fit['slope'],
            'error': fit['slope_error'],
            'reduced_chi2': fit['reduced_chi2'],
            'points': fit['points'],
            'intercept': fit['intercept'],
        }
    return fits


def cubic_tensor(c11: float, c12: float, c44: float) -> np.ndarray:
    """Return the 6x6 Voigt tensor (GPa) of a cubic crystal."""
    tensor = np.zeros((6, 6))
    tensor[:3, :3] = c12
    np.fill_diagonal(tensor[:3, :3], c11)
    tensor[3:, 3:] = np.diag([c44] * 3)
    return tensor


def cubic_moduli(c11: float, c12: float, c44: float) -> dict[str, float]:
    """Return the Zener and universal anisotropy, VRH bulk and shear moduli, Young's modulus (GPa), Poisson ratio.

    The moduli come from pymatgen's ``ElasticTensor``.
    """
    from pymatgen.analysis.elasticity import ElasticTensor

    elastic = ElasticTensor.from_voigt(cubic_tensor(c11, c12, c44))
    return {
        'zener_anisotropy': 2.0 * c44 / (c11 - c12),
        'universal_anisotropy': float(elastic.universal_anisotropy),
        'bulk_modulus_vrh': float(elastic.k_vrh),
        'shear_modulus_vrh': float(elastic.g_vrh),
        'youngs_modulus': float(elastic.y_mod) / 1e9,  # pymatgen returns Pa for a tensor given in GPa
        'poisson_ratio': float(elastic.homogeneous_poisson),
    }


def cubic_moduli_with_errors(constants: dict[str, dict]) -> dict[str, dict[str, float]]:
    """Return :func:`cubic_moduli` with standard errors propagated linearly from those of C11, C12 and C44.

    The three constants are treated as independent (they come from different stress components); the derivatives
    are central differences of one hundredth of each error.

    Raises
    ------
    ValueError
        If C11 <= C12 or C44 <= 0: the cubic crystal is mechanically unstable and its moduli undefined.
    """
    values = np.array([constants[key]['value'] for key in ('C11', 'C12', 'C44')])
    errors = np.array([constants[key]['error'] for key in ('C11', 'C12', 'C44')])
    if values[0] <= values[1] or values[2] <= 0 or values[0] + 2 * values[1] <= 0:
        raise ValueError(
            f'C11 = {values[0]:.3f}, C12 = {values[1]:.3f}, C44 = {values[2]:.3f} GPa violate the Born stability '
            'conditions of a cubic crystal: the moduli are undefined'
        )
    central = cubic_moduli(*values)
    variance = dict.fromkeys(central, 0.0)
    for index in range(3):
        step = 0.01 * errors[index] if np.isfinite(errors[index]) and errors[index] > 0 else 0.0
        if step == 0.0:
            continue
        plus, minus = values.copy(), values.copy()
        plus[index] += step
        minus[index] -= step
        upper, lower = cubic_moduli(*plus), cubic_moduli(*minus)
        for key in central:
            derivative = (upper[key] - lower[key]) / (2 * step)
            variance[key] += (derivative * errors[index]) ** 2
    return {key: {'value': central[key], 'error': float(np.sqrt(variance[key]))} for key in central}
