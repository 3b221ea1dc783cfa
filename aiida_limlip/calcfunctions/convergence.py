"""The converged cutoff and k-spacing of a convergence sweep, with provenance."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..analysis.convergence import converged_setting


@calcfunction
def analyse_convergence(settings: orm.Dict, **parameters: orm.Dict) -> dict:
    """Find the converged cutoff and k-spacing from the ``output_parameters`` of the two series.

    ``parameters`` keys are ``cutoff_<i>`` and ``kspacing_<i>``, in the order of ``settings['cutoffs']`` and
    ``settings['kpoints_spacings']``. Returns ``results`` (energies per atom in eV/atom) and ``overrides``, the
    converged values shaped as overrides of ``LabellingWorkChain.get_builder_from_protocol``.
    """
    cutoffs = settings['cutoffs']
    spacings = settings['kpoints_spacings']
    natoms = settings['natoms']
    e_cut = [parameters[f'cutoff_{i}']['energy'] / natoms for i in range(len(cutoffs))]
    e_k = [parameters[f'kspacing_{i}']['energy'] / natoms for i in range(len(spacings))]
    tolerance = settings['tolerance']
    ecutwfc = converged_setting(cutoffs, e_cut, tolerance, higher_is_more_accurate=True)
    spacing = converged_setting(spacings, e_k, tolerance, higher_is_more_accurate=False)
    results = {
        'ecutwfc': ecutwfc,
        'ecutrho': ecutwfc * settings['dual'],
        'kpoints_spacing': spacing,
        'tolerance': tolerance,
        'cutoffs': cutoffs,
        'cutoff_energies': e_cut,
        'kpoints_spacings': spacings,
        'kpoints_energies': e_k,
        'units': {
            'ecutwfc': 'Ry',
            'ecutrho': 'Ry',
            'kpoints_spacing': '1/Å (2*pi not included)',
            'tolerance': 'eV/atom',
            'cutoff_energies': 'eV/atom',
            'kpoints_energies': 'eV/atom',
        },
    }
    overrides = {
        'parameters': {'SYSTEM': {'ecutwfc': ecutwfc, 'ecutrho': ecutwfc * settings['dual']}},
        'kpoints_spacing': spacing,
    }
    return {'results': orm.Dict(results), 'overrides': orm.Dict(overrides)}
