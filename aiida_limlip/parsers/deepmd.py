"""Parser of ``DeepmdTrainingCalculation``."""

from __future__ import annotations

import io

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser

from ..calculations.deepmd import LCURVE_FILE, MODEL_FILE
from ..data.potential import PotentialData

#: A final training loss this many times the first counts as diverged (a NaN-free blow-up).
DIVERGENCE_FACTOR = 100.0


def read_lcurve(text: str) -> dict[str, np.ndarray]:
    """Return the columns of deepmd-kit's ``lcurve.out`` by their header names."""
    header = next(line for line in text.splitlines() if line.startswith('#') and 'step' in line)
    names = header.lstrip('#').split()
    values = np.loadtxt(io.StringIO(text), comments='#', ndmin=2)
    return {name: values[:, index] for index, name in enumerate(names)}


def divergence_reason(columns: dict[str, np.ndarray]) -> str | None:
    """Return why the learning curve counts as diverged, or ``None``."""
    for name, values in columns.items():
        if not np.all(np.isfinite(values)):
            return f'non-finite values in {name}'
    total = columns.get('rmse_trn')
    if total is not None and len(total) > 1 and total[-1] > DIVERGENCE_FACTOR * total[0]:
        return f'training loss grew from {total[0]:.3g} to {total[-1]:.3g}'
    return None


class DeepmdTrainingParser(Parser):
    """Return the learning curve and, unless training diverged, the frozen model as ``PotentialData``."""

    def parse(self, **kwargs) -> ExitCode | None:
        """Parse the retrieved files."""
        names = self.retrieved.base.repository.list_object_names()
        if LCURVE_FILE not in names:
            return self.exit_codes.ERROR_LCURVE_MISSING
        columns = read_lcurve(self.retrieved.base.repository.get_object_content(LCURVE_FILE))
        curve = orm.ArrayData()
        for name, values in columns.items():
            curve.set_array(name, values)
        self.out('learning_curve', curve)
        reason = divergence_reason(columns)
        if reason:
            return self.exit_codes.ERROR_DIVERGED.format(reason=reason)
        if MODEL_FILE not in names:
            return self.exit_codes.ERROR_MODEL_MISSING
        parameters = self.node.inputs.parameters.get_dict()
        descriptor = parameters['model'].get('descriptor', {})
        potential = PotentialData(
            'deepmd',
            parameters['model']['type_map'],
            {MODEL_FILE: self.retrieved.base.repository.get_object_content(MODEL_FILE, mode='rb')},
            cutoff=descriptor.get('rcut'),
            precision=descriptor.get('precision', 'float64'),
        )
        self.out('potential', potential)
        return None
