"""Elastic constants from stress-strain fits (no AiiDA).

Conventions: Voigt order xx, yy, zz, yz, xz, xy; engineering shear strains (gamma = 2 epsilon); stresses with ASE's
sign (positive = tensile), so that sigma = C epsilon with C positive definite for a stable crystal. Stresses in GPa.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def strain_matrix(component: int, magnitude: float) -> np.ndarray:
    """Return the symmetric 3x3 strain tensor of a single Voigt ``component`` with engineering ``magnitude``."""
    if component not in range(6):
        raise ValueError(f'Voigt component must be 0..5, got {component}')
    strain = np.zeros((3, 3))
    i, j = VOIGT_PAIRS[component]
    value = magnitude if i == j else magnitude / 2
    strain[i, j] = strain[j, i] = value
    return strain


def strain_set(magnitudes: Sequence[float], components: Sequence[int] = range(6)) -> list[tuple[int, float]]:
    """Return ``(component, magnitude)`` for every component and every non-zero magnitude of both signs.

    Raises
    ------
    ValueError
        If no non-zero magnitude is given.
    """
    values = sorted({abs(float(m)) for m in magnitudes if m})
    if not values:
        raise ValueError('give at least one non-zero strain magnitude')
    return [(c, s * m) for c in components for m in values for s in (-1.0, 1.0)]


def strain_magnitudes_error(magnitudes: Sequence[float], limit: float) -> str | None:
    """Return why strain magnitudes cannot be fitted: none non-zero, or one beyond ``limit`` (the linear regime)."""
    values = [abs(float(value)) for value in magnitudes if value]
    if not values:
        return 'strain_magnitudes needs at least one non-zero strain'
    if max(values) > limit:
        return f'strain magnitude {max(values)} is beyond the linear regime (at most {limit})'
    return None


def deform(cell: np.ndarray, component: int, magnitude: float) -> np.ndarray:
    """Return ``cell`` (rows are lattice vectors) deformed by the strain ``(component, magnitude)``."""
    return np.asarray(cell) @ (np.eye(3) + strain_matrix(component, magnitude))


def _fit_columns(
    components: Sequence[int],
    magnitudes: Sequence[float],
    stresses: np.ndarray,
    reference_stress: np.ndarray | None,
    columns: Sequence[int],
) -> tuple[dict[int, np.ndarray], list[float], float]:
    """Fit the stresses linearly in the strain for each strained Voigt component of ``columns``.

    Returns the slopes (6 stresses per column, GPa), one R^2 per column and the largest residual (GPa).
    """
    components = np.asarray(components, dtype=int)
    magnitudes = np.asarray(magnitudes, dtype=float)
    stresses = np.asarray(stresses, dtype=float)
    if reference_stress is not None:
        stresses = stresses - np.asarray(reference_stress, dtype=float)
    slopes, r2, worst = {}, [], 0.0
    for column in columns:
        mask = components == column
        if len(set(magnitudes[mask])) < 2:
            raise ValueError(f'Voigt strain component {column} needs at least two distinct strains')
        design = np.vstack([magnitudes[mask], np.ones(mask.sum())]).T
        coefficients, *_ = np.linalg.lstsq(design, stresses[mask], rcond=None)
        residuals = stresses[mask] - design @ coefficients
        worst = max(worst, float(np.abs(residuals).max()))
        # One R^2 per strain component over all six stresses: quadratic (even) responses, such as normal stresses
        # under shear, are not linear in the strain and would make a per-stress R^2 meaningless.
        total = float(np.sum((stresses[mask] - stresses[mask].mean(axis=0)) ** 2))
        r2.append(1.0 - float(np.sum(residuals**2)) / total if total > 1e-24 else 1.0)
        slopes[column] = coefficients[0]
    return slopes, r2, worst


def fit_elastic_tensor(
    components: Sequence[int],
    magnitudes: Sequence[float],
    stresses: np.ndarray,
    reference_stress: np.ndarray | None = None,
) -> dict:
    """Fit the 6x6 elastic tensor column by column from stresses under single-component strains.

    Parameters
    ----------
    components, magnitudes
        The strain of each calculation (Voigt component, engineering strain).
    stresses
        Voigt stresses (GPa, positive = tensile) of each strained cell, shape (n, 6).
    reference_stress
        Stress of the unstrained cell (GPa); subtracted so a residual pressure does not bias the fit.

    Returns
    -------
    dict
        ``tensor`` (6x6 list, GPa, not symmetrised), ``symmetric_tensor`` ((C + C^T)/2), ``asymmetry`` (max
        |C - C^T| / max |C|), ``r2`` (per strain component, the coefficient of determination of the linear fit over
        all six stresses), ``max_residual`` (GPa).

    Raises
    ------
    ValueError
        If a strained component has fewer than two distinct strains.
    """
    slopes, r2, worst = _fit_columns(components, magnitudes, stresses, reference_stress, range(6))
    tensor = np.array([slopes[column] for column in range(6)]).T
    symmetric = (tensor + tensor.T) / 2
    return {
        'tensor': tensor.tolist(),
        'symmetric_tensor': symmetric.tolist(),
        'asymmetry': float(np.abs(tensor - tensor.T).max() / np.abs(tensor).max()),
        'r2': r2,
        'max_residual': worst,
    }


def fit_cubic_tensor(
    components: Sequence[int],
    magnitudes: Sequence[float],
    stresses: np.ndarray,
    reference_stress: np.ndarray | None = None,
) -> dict:
    """Fit C11, C12 and C44 of a cubic crystal from xx (component 0) and yz (component 3) strains only.

    Cubic symmetry fills the rest of the tensor, so 2 strain directions replace 6: for costly DFT. Arguments and
    return value as in :func:`fit_elastic_tensor`; ``asymmetry`` is zero by construction.

    Raises
    ------
    ValueError
        If component 0 or 3 has fewer than two distinct strains, or other components are given.
    """
    if set(np.asarray(components, dtype=int)) != {0, 3}:
        raise ValueError(f'a cubic fit uses strain components 0 (xx) and 3 (yz) only, got {sorted(set(components))}')
    slopes, r2, worst = _fit_columns(components, magnitudes, stresses, reference_stress, (0, 3))
    c11, c12, c44 = float(slopes[0][0]), float(np.mean(slopes[0][1:3])), float(slopes[3][3])
    tensor = np.full((3, 3), c12)
    np.fill_diagonal(tensor, c11)
    tensor = np.block([[tensor, np.zeros((3, 3))], [np.zeros((3, 3)), c44 * np.eye(3)]])
    return {
        'tensor': tensor.tolist(),
        'symmetric_tensor': tensor.tolist(),
        'asymmetry': 0.0,
        'r2': r2,
        'max_residual': worst,
    }


def fit_tetragonal_shear(
    components: Sequence[int],
    magnitudes: Sequence[float],
    stresses: np.ndarray,
    reference_stress: np.ndarray | None = None,
) -> dict:
    """Fit C11, C12 and the tetragonal shear constant C' = (C11 - C12)/2 of a cubic crystal from xx strains only.

    A third of the cost of :func:`fit_cubic_tensor` (no shear strains, whose lower symmetry costs DFT the most
    k-points): for convergence studies of C', the smallest and least converged constant of bcc metals.

    Returns
    -------
    dict
        ``C11``, ``C12``, ``C_prime`` (GPa), ``r2``, ``max_residual`` (GPa).

    Raises
    ------
    ValueError
        If other components than 0 are given, or fewer than two distinct strains.
    """
    if set(np.asarray(components, dtype=int)) != {0}:
        raise ValueError(f'a tetragonal-shear fit uses strain component 0 (xx) only, got {sorted(set(components))}')
    slopes, r2, worst = _fit_columns(components, magnitudes, stresses, reference_stress, (0,))
    c11, c12 = float(slopes[0][0]), float(np.mean(slopes[0][1:3]))
    return {'C11': c11, 'C12': c12, 'C_prime': (c11 - c12) / 2, 'r2': r2, 'max_residual': worst}


def fit_strains(
    components: Sequence[int],
    magnitudes: Sequence[float],
    stresses: np.ndarray,
    reference_stress: np.ndarray | None = None,
) -> dict:
    """Fit the elastic tensor to whatever strains were applied.

    The full tensor if all six Voigt components were strained, else the cubic two-direction fit (components 0 and 3;
    symmetry fills the rest, for costly DFT).

    Arguments and result as :func:`fit_elastic_tensor`.
    """
    if len(set(components)) == 6:
        return fit_elastic_tensor(components, magnitudes, stresses, reference_stress)
    return fit_cubic_tensor(components, magnitudes, stresses, reference_stress)


def cubic_constants(tensor: np.ndarray) -> dict[str, float]:
    """Return C11, C12, C44 (GPa), averaged over the equivalent entries of a cubic tensor, and the Zener ratio.

    Raises
    ------
    ValueError
        If C11 == C12 (Zener ratio undefined).
    """
    c = np.asarray(tensor, dtype=float)
    c11 = float(np.mean([c[0, 0], c[1, 1], c[2, 2]]))
    c12 = float(np.mean([c[0, 1], c[0, 2], c[1, 2], c[1, 0], c[2, 0], c[2, 1]]))
    c44 = float(np.mean([c[3, 3], c[4, 4], c[5, 5]]))
    if np.isclose(c11, c12):
        raise ValueError('C11 equals C12: the crystal is mechanically unstable and the Zener ratio undefined')
    return {'C11': c11, 'C12': c12, 'C44': c44, 'zener_anisotropy': 2 * c44 / (c11 - c12)}


def derived_moduli(tensor: np.ndarray) -> dict[str, float]:
    """Return Voigt, Reuss and Hill bulk and shear moduli (GPa), Young's modulus (GPa) and Poisson's ratio.

    Computed with pymatgen's ``ElasticTensor`` from the symmetrised Voigt tensor.
    """
    from pymatgen.analysis.elasticity import ElasticTensor

    c = np.asarray(tensor, dtype=float)
    elastic = ElasticTensor.from_voigt((c + c.T) / 2)
    return {
        'bulk_modulus_voigt': float(elastic.k_voigt),
        'bulk_modulus_reuss': float(elastic.k_reuss),
        'bulk_modulus_hill': float(elastic.k_vrh),
        'shear_modulus_voigt': float(elastic.g_voigt),
        'shear_modulus_reuss': float(elastic.g_reuss),
        'shear_modulus_hill': float(elastic.g_vrh),
        'youngs_modulus': float(elastic.y_mod) / 1e9,  # pymatgen returns it in Pa from GPa input
        'poisson_ratio': float(elastic.homogeneous_poisson),
    }
