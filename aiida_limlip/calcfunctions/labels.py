"""Turn pw.x outputs into a ``FrameSetData``, with a provenance link to every calculation's outputs."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction
from ase import units

from ..data.frame_set import FrameSetData


@calcfunction
def collect_pw_labels(config_classes: orm.Dict, **outputs) -> FrameSetData:
    """Return a training set from pw.x SCF results.

    ``outputs`` holds, per structure label, ``structure_<label>`` (the input ``StructureData``),
    ``parameters_<label>`` (``output_parameters``: ``energy`` in eV, QE's total energy, which with smearing is the
    free energy consistent with the forces) and ``trajectory_<label>`` (``output_trajectory``: ``forces`` in eV/Å,
    ``stress`` in GPa with QE's sign, positive = compressed). The stress is stored in ASE's convention:
    eV/Å^3, positive = tensile, i.e. ``-stress_QE * GPa``.
    """
    labels = sorted(key[len('structure_') :] for key in outputs if key.startswith('structure_'))
    frames = []
    for label in labels:
        parameters = outputs[f'parameters_{label}']
        trajectory = outputs[f'trajectory_{label}']
        calculation = parameters.creator
        frame = FrameSetData.make_frame(
            outputs[f'structure_{label}'].get_ase(),
            energy=parameters['energy'],
            forces=trajectory.get_array('forces')[-1],
            stress=-trajectory.get_array('stress')[-1] * units.GPa,
            config_class=config_classes.get(label, 'unknown'),
            source=calculation.uuid if calculation is not None else None,
        )
        frame.info['label'] = label
        frames.append(frame)
    return FrameSetData(frames)
