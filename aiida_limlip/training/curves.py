"""Learning curves of the training codes: reading them and deciding whether a run diverged."""

from __future__ import annotations

import io

import numpy as np

#: A final training loss this many times the first counts as diverged (a NaN-free blow-up).
DIVERGENCE_FACTOR = 100.0


def read_lcurve(text: str) -> dict[str, np.ndarray]:
    """Return the columns of deepmd-kit's ``lcurve.out`` by their header names."""
    header = next(line for line in text.splitlines() if line.startswith('#') and 'step' in line)
    names = header.lstrip('#').split()
    values = np.loadtxt(io.StringIO(text), comments='#', ndmin=2)
    return {name: values[:, index] for index, name in enumerate(names)}


def divergence_reason(columns: dict[str, np.ndarray], loss: str = 'rmse_trn') -> str | None:
    """Return why the learning curve counts as diverged, or ``None``.

    A curve diverged if any value is NaN or infinite, or if the training ``loss`` column ends more than
    :data:`DIVERGENCE_FACTOR` times above where it started.
    """
    for name, values in columns.items():
        if not np.all(np.isfinite(values)):
            return f'non-finite values in {name}'
    total = columns.get(loss)
    if total is not None and len(total) > 1 and total[-1] > DIVERGENCE_FACTOR * total[0]:
        return f'training loss grew from {total[0]:.3g} to {total[-1]:.3g}'
    return None
