"""Building pw.x inputs (aiida-quantumespresso's ``PwBaseWorkChain``) the same way for every DFT route."""

from __future__ import annotations

import copy

from aiida import orm
from aiida.common.exceptions import NotExistent

from ..structures.seeds import kpoint_mesh
from .common import DEFAULT_OPTIONS


def load_pseudo_family(label: str):
    """Return the pseudopotential family ``label``.

    Raises
    ------
    ValueError
        If it is not installed, with the command that installs ours.
    """
    try:
        return orm.Group.collection.get(label=label)
    except NotExistent as exception:
        raise ValueError(
            f'pseudopotential family `{label}` is not installed; run `aiida-limlip setup pseudos` (ours) or '
            '`aiida-pseudo install ...`'
        ) from exception


def pw_parameters(parameters: dict, natoms: int) -> dict:
    """Return pw.x parameters with our ``ELECTRONS.conv_thr_per_atom`` (Ry/atom) turned into ``conv_thr`` (Ry)."""
    parameters = copy.deepcopy(parameters)
    electrons = parameters.setdefault('ELECTRONS', {})
    if 'conv_thr_per_atom' in electrons:
        electrons['conv_thr'] = electrons.pop('conv_thr_per_atom') * natoms
    return parameters


def build_pw_base_inputs(
    code: orm.AbstractCode,
    structure: orm.StructureData,
    family,
    parameters: dict,
    kpoints_spacing: float,
    options: dict | None = None,
) -> dict:
    """Return the inputs of a ``PwBaseWorkChain`` SCF on ``structure``.

    The k-mesh follows :func:`aiida_limlip.structures.seeds.kpoint_mesh` (spacing in 1/Å without 2*pi; one k-point
    across a vacuum gap).
    """
    kpoints = orm.KpointsData()
    kpoints.set_kpoints_mesh(kpoint_mesh(structure.get_ase(), kpoints_spacing))
    return {
        'kpoints': kpoints,
        'pw': {
            'code': code,
            'structure': structure,
            'pseudos': family.get_pseudos(structure=structure),
            'parameters': orm.Dict(pw_parameters(parameters, len(structure.sites))),
            'metadata': {'options': {**DEFAULT_OPTIONS, **(options or {})}},
        },
    }
