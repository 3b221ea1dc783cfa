"""Statistics of correlated time series (MD averages) without AiiDA."""

from __future__ import annotations

import numpy as np


def block_standard_error(series: np.ndarray, min_blocks: int = 8) -> float:
    """Return the standard error of the mean of a correlated series by Flyvbjerg-Petersen blocking.

    The series is halved into blocks of 2, 4, 8, ... samples; each level gives sigma/sqrt(n - 1) of its block means.
    Correlations make the estimate grow with the block size until the blocks are independent, where it levels off;
    the largest estimate over the levels that keep at least ``min_blocks`` blocks is returned (conservative when the
    plateau is not reached: the run is then too short for a reliable error, and the value says so by being large).

    Parameters
    ----------
    series
        The samples, in time order (any unit).
    min_blocks
        The fewest blocks a level may have to be used.

    Returns
    -------
    float
        The standard error of the mean, in the unit of ``series``; NaN for fewer than two samples.

    References
    ----------
    H. Flyvbjerg and H. G. Petersen, J. Chem. Phys. 91, 461 (1989).
    """
    values = np.asarray(series, dtype=float).ravel()
    if values.size < 2:
        return float('nan')
    best = float(np.std(values) / np.sqrt(values.size - 1))
    while values.size // 2 >= min_blocks:
        values = 0.5 * (values[: 2 * (values.size // 2) : 2] + values[1 : 2 * (values.size // 2) : 2])
        best = max(best, float(np.std(values) / np.sqrt(values.size - 1)))
    return best


def describe(series: np.ndarray) -> dict[str, float]:
    """Return the mean, the standard deviation and the blocked standard error of the mean of a series.

    The standard deviation is the spread of the samples (the paper's error bar on a(T)); the standard error is the
    uncertainty of the mean (:func:`block_standard_error`).
    """
    values = np.asarray(series, dtype=float)
    if values.size == 0:
        return {'mean': float('nan'), 'std': float('nan'), 'sem': float('nan'), 'samples': 0}
    return {
        'mean': float(np.mean(values)),
        'std': float(np.std(values)),
        'sem': block_standard_error(values),
        'samples': int(values.size),
    }
