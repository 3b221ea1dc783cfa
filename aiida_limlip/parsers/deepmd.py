"""Parser of ``DeepmdTrainingCalculation``."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser

from ..calculations.deepmd import LCURVE_FILE, MODEL_FILE
from ..data.potential import PotentialData
from ..training.curves import divergence_reason, read_lcurve


class DeepmdTrainingParser(Parser):
    """Return the learning curve and, unless training diverged, the frozen model as ``PotentialData``."""

    def parse(self, **kwargs) -> ExitCode | None:
        """Parse the retrieved files."""
        names = self.retrieved.base.repository.list_object_names()
        if LCURVE_FILE not in names:
            return self.exit_codes.ERROR_LEARNING_CURVE_MISSING
        columns = read_lcurve(self.retrieved.base.repository.get_object_content(LCURVE_FILE))
        curve = orm.ArrayData()
        for name, values in columns.items():
            curve.set_array(name, values)
        self.out('learning_curve', curve)
        reason = divergence_reason(columns)
        if reason:
            return self.exit_codes.ERROR_DIVERGED.format(reason=reason)
        parameters = self.node.inputs.parameters.get_dict()
        training = parameters.get('training', {})
        total, every = training.get('numb_steps'), training.get('disp_freq', 1000)
        done = int(columns['step'][-1]) if len(columns.get('step', [])) else 0
        # deepmd-kit logs every disp_freq steps: a last line more than one interval short means it was cut off.
        if total and done + every <= total:
            return self.exit_codes.ERROR_OUT_OF_WALLTIME.format(done=done, total=total, unit='steps')
        if MODEL_FILE not in names:
            return self.exit_codes.ERROR_MODEL_MISSING
        descriptor = parameters['model'].get('descriptor', {})
        potential = PotentialData(
            'deepmd',
            parameters['model']['type_map'],
            {MODEL_FILE: self.retrieved.base.repository.get_object_content(MODEL_FILE, mode='rb')},
            cutoff=descriptor.get('rcut'),
            precision=descriptor.get('precision', 'float64'),
            pair_style=f'deepmd {MODEL_FILE}',
            pair_coeff=[f'* * {" ".join(parameters["model"]["type_map"])}'],
        )
        self.out('potential', potential)
        return None
