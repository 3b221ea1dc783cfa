"""Results of a batch evaluation as one ``FrameSetData``, whichever code produced them."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction
from ase import Atoms

from ..data.frame_set import FrameSetData


@calcfunction
def collect_runner_frames(results: orm.Dict, arrays: orm.ArrayData, **structures) -> FrameSetData:
    """Return the runner's energies, forces and stresses as labelled frames, in the order of the labels.

    ``structures`` maps each label to the structure the values belong to: the relaxed one for a ``relax`` task, the
    input otherwise. Frames carry the label in ``info['label']``; a potential without stress gives frames without it.
    """
    labels = list(arrays.base.attributes.get('labels'))
    energies = arrays.get_array('energies')
    stresses = arrays.get_array('stresses')
    frames = []
    for index, label in enumerate(labels):
        stress = stresses[index]
        frame = FrameSetData.make_frame(
            structures[label].get_ase(),
            energy=float(energies[index]),
            forces=arrays.get_array(f'forces_{label}'),
            stress=None if np.isnan(stress).any() else stress,
            source=results.creator.uuid if results.creator is not None else None,
        )
        frame.info['label'] = label
        frames.append(frame)
    return FrameSetData(frames)


def frames_by_label(frames: FrameSetData) -> dict[str, Atoms]:
    """Return the frames of a batch evaluation keyed by their label."""
    return {atoms.info['label']: atoms for atoms in frames.get_frames()}
