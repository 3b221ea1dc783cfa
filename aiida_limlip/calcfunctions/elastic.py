"""Strained cells and the elastic-constant fit, with provenance."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import ExitCode, calcfunction
from ase.units import GPa

from ..analysis import elastic
from ..analysis.structures import is_cubic
from ..data.frame_set import FrameSetData
from .frames import frames_by_label
from .quantities import quantity

REFERENCE = 'reference'


@calcfunction
def strained_structures(structure: orm.StructureData, magnitudes: orm.List, components: orm.List) -> dict:
    """Return the unstrained cell (``reference``) and one cell per Voigt component and strain of both signs.

    Outputs: ``strains`` (label to ``[component, engineering strain]``) and the structures ``strain_NN``. Strains
    are applied in the Cartesian frame, so the elastic tensor is expressed in it. ``components``: the Voigt
    components strained (all six, or 0 and 3 for a cubic fit).
    """
    atoms = structure.get_ase()
    outputs = {REFERENCE: structure.clone()}
    strains = {}
    strain_set = elastic.strain_set(magnitudes.get_list(), components.get_list())
    for index, (component, magnitude) in enumerate(strain_set):
        label = f'strain_{index:02d}'
        strained = atoms.copy()
        strained.set_cell(elastic.deform(atoms.cell, component, magnitude), scale_atoms=True)
        outputs[label] = orm.StructureData(ase=strained)
        strains[label] = [component, magnitude]
    outputs['strains'] = orm.Dict(strains)
    return outputs


@calcfunction
def fit_elastic_constants(frames: FrameSetData, strains: orm.Dict) -> dict:
    """Fit the 6x6 elastic tensor to the stresses of the strained cells; derive cubic constants and moduli.

    The reference cell's stress is subtracted, so a residual pressure does not bias the slopes. With strains of
    components 0 and 3 only, the cubic fit fills the tensor by symmetry.
    """
    by_label = frames_by_label(frames)
    if any('stress' not in atoms.calc.results for atoms in by_label.values()):
        return ExitCode(410, 'the evaluation returned no stress for some cells: elastic constants need stresses')
    labels = sorted(strains.keys())
    components = [strains[label][0] for label in labels]
    magnitudes = [strains[label][1] for label in labels]
    stresses = np.array([by_label[label].get_stress(voigt=True) for label in labels]) / GPa
    reference = by_label[REFERENCE].get_stress(voigt=True) / GPa
    if set(components) == {0}:
        return _tetragonal_shear(components, magnitudes, stresses, reference)
    try:
        fit = elastic.fit_strains(components, magnitudes, stresses, reference_stress=reference)
        moduli = elastic.derived_moduli(np.array(fit['symmetric_tensor']))
        cubic = elastic.cubic_constants(np.array(fit['symmetric_tensor'])) if is_cubic(by_label[REFERENCE]) else {}
    except ValueError as exception:
        return ExitCode(411, f'the elastic fit failed: {exception}')

    tensor = orm.ArrayData()
    tensor.set_array('elastic_tensor', np.array(fit['symmetric_tensor']))
    tensor.set_array('raw_tensor', np.array(fit['tensor']))
    tensor.set_array('strains', np.array([components, magnitudes], dtype=float).T)
    tensor.set_array('stresses', stresses)
    tensor.base.attributes.set(
        'units',
        {'elastic_tensor': 'GPa (Voigt)', 'raw_tensor': 'GPa', 'strains': '[component, strain]', 'stresses': 'GPa'},
    )
    results = {
        **cubic,
        **moduli,
        'fit_r2_min': float(min(fit['r2'])),
        'fit_max_residual': fit['max_residual'],
        'tensor_asymmetry': fit['asymmetry'],
        'reference_pressure': float(-np.mean(reference[:3])),
        'number_of_strains': len(labels),
    }
    units = {key: 'GPa' for key in results}
    units.update(zener_anisotropy='1', poisson_ratio='1', fit_r2_min='1', tensor_asymmetry='1', number_of_strains='1')
    results['units'] = units
    outputs = {'results': orm.Dict(results), 'elastic_tensor': tensor}
    descriptions = {'C11': 'Elastic constant C11', 'C12': 'Elastic constant C12', 'C44': 'Elastic constant C44'}
    for key, description in descriptions.items():
        if key in cubic:
            outputs[key] = quantity(cubic[key], 'GPa', key, description)
    if cubic:
        outputs['zener_anisotropy'] = quantity(
            cubic['zener_anisotropy'], '1', 'zener_anisotropy', 'Zener anisotropy 2 C44 / (C11 - C12)'
        )
    outputs['bulk_modulus'] = quantity(moduli['bulk_modulus_hill'], 'GPa', 'bulk_modulus', 'Hill bulk modulus')
    return outputs


def _tetragonal_shear(components, magnitudes, stresses, reference) -> dict:
    """Return the outputs of an xx-strain-only fit: C11, C12 and C' = (C11 - C12)/2, no tensor."""
    try:
        fit = elastic.fit_tetragonal_shear(components, magnitudes, stresses, reference_stress=reference)
    except ValueError as exception:
        return ExitCode(411, f'the elastic fit failed: {exception}')
    results = {
        'C11': fit['C11'],
        'C12': fit['C12'],
        'C_prime': fit['C_prime'],
        'fit_r2_min': float(min(fit['r2'])),
        'fit_max_residual': fit['max_residual'],
        'reference_pressure': float(-np.mean(reference[:3])),
        'number_of_strains': len(components),
    }
    units = {key: 'GPa' for key in results}
    units.update(fit_r2_min='1', number_of_strains='1')
    return {
        'results': orm.Dict({**results, 'units': units}),
        'C11': quantity(fit['C11'], 'GPa', 'C11', 'Elastic constant C11'),
        'C12': quantity(fit['C12'], 'GPa', 'C12', 'Elastic constant C12'),
    }
