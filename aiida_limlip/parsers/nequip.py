"""Parsers of ``NequipTrainingCalculation`` and ``NequipCompileCalculation``."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ExitCode
from aiida.parsers import Parser

from ..calculations.nequip import CHECKPOINT_MODEL, COMPILED_MODEL, EXIT_STATUS_FILE
from ..calculations.training import data_species
from ..data.potential import PotentialData
from ..training import nequip as nequip_setup
from ..training.curves import divergence_reason


class NequipTrainingParser(Parser):
    """Return the learning curve and, if training finished and did not diverge, the best checkpoint."""

    def parse(self, **kwargs) -> ExitCode | None:
        """Parse the retrieved files."""
        retrieved = self.retrieved
        names = set(retrieved.base.repository.list_object_names())
        metrics = nequip_setup.METRICS_FILE.rsplit('/', 1)[-1]
        if metrics not in names:
            return self.exit_codes.ERROR_LEARNING_CURVE_MISSING
        columns = nequip_setup.read_metrics(retrieved.base.repository.get_object_content(metrics))
        if not columns.get('epoch'):
            return self.exit_codes.ERROR_LEARNING_CURVE_MISSING
        curve = orm.ArrayData()
        for name, values in columns.items():
            curve.set_array(name, np.array(values, dtype=float))
        curve.base.attributes.set(
            'units', {'per_atom_energy': 'eV/atom', 'total_energy': 'eV', 'forces': 'eV/Å', 'stress': 'eV/Å^3'}
        )
        self.out('learning_curve', curve)

        reason = divergence_reason({name: np.asarray(values) for name, values in columns.items()}, 'train_loss')
        if reason:
            return self.exit_codes.ERROR_DIVERGED.format(reason=reason)
        settings = {**nequip_setup.DEFAULT_SETTINGS, **self.node.inputs.parameters.get_dict()}
        done, total = int(columns['epoch'][-1]) + 1, settings['max_epochs']
        finished = done >= total
        if not finished and not (settings['max_train_seconds'] and self._ended_by_itself(names)):
            return self.exit_codes.ERROR_OUT_OF_WALLTIME.format(done=done, total=total, unit='epochs')
        if nequip_setup.BEST_CHECKPOINT not in names:
            return self.exit_codes.ERROR_MODEL_MISSING
        if not finished:
            self.logger.warning(
                f'training stopped by its time budget ({settings["max_train_seconds"]} s) after {done} of {total} '
                'epochs: the potential is the best checkpoint so far (parameters.finished = False)'
            )

        potential = PotentialData(
            'nequip',
            data_species(self.node.inputs),
            {CHECKPOINT_MODEL: retrieved.base.repository.get_object_content(nequip_setup.BEST_CHECKPOINT, mode='rb')},
            cutoff=settings['cutoff'],
            precision=settings['model_dtype'],
            parameters={'format': 'checkpoint', 'epochs': done, 'max_epochs': total, 'finished': finished},
        )
        self.out('potential', potential)
        return None

    def _ended_by_itself(self, names: set[str]) -> bool:
        """Whether nequip-train exited with status 0 (the job script records it; a killed job leaves no record)."""
        if EXIT_STATUS_FILE not in names:
            return False
        return self.retrieved.base.repository.get_object_content(EXIT_STATUS_FILE).strip() == '0'


class NequipCompileParser(Parser):
    """Return the compiled model with the species, cutoff and precision of the checkpoint it came from."""

    def parse(self, **kwargs) -> ExitCode | None:
        """Parse the retrieved files."""
        if COMPILED_MODEL not in self.retrieved.base.repository.list_object_names():
            return self.exit_codes.ERROR_MODEL_MISSING
        source = self.node.inputs.potential
        potential = PotentialData(
            'nequip',
            source.species,
            {COMPILED_MODEL: self.retrieved.base.repository.get_object_content(COMPILED_MODEL, mode='rb')},
            cutoff=source.cutoff,
            precision=source.precision,
            parameters={'format': 'aotinductor', 'device': self.node.inputs.device.value, 'source': source.uuid},
        )
        self.out('potential', potential)
        return None
