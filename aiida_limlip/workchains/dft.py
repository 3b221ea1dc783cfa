"""Building pw.x inputs (aiida-quantumespresso's ``PwBaseWorkChain``) the same way for every DFT route."""

from __future__ import annotations

import copy

import numpy as np
from aiida import orm
from aiida.common.exceptions import NotExistent
from ase import Atoms

from ..analysis.structures import vacuum_axes
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


def kpoint_mesh(atoms: Atoms, spacing: float, min_gap: float = 4.0) -> list[int]:
    """Return a Monkhorst-Pack mesh with at most ``spacing`` (1/Å, 2*pi NOT included) between k-points.

    n_i = ceil(|b_i| / spacing), where b_i are the reciprocal vectors without the 2*pi factor (|b_i| = 1/d_i, d_i
    the spacing of the lattice planes). The paper's 0.02 1/Å thus gives 15x15x15 for the cubic bcc cell (a = 3.434
    Å); with 2*pi included it would be 92x92x92. Axes across a vacuum gap get one k-point.
    """
    if spacing <= 0:
        raise ValueError(f'the k-point spacing must be positive, got {spacing}')
    reciprocal = np.linalg.norm(np.linalg.inv(np.asarray(atoms.cell)).T, axis=1)
    mesh = [max(1, int(np.ceil(length / spacing - 1e-9))) for length in reciprocal]
    return [1 if vacuum else n for n, vacuum in zip(mesh, vacuum_axes(atoms, min_gap), strict=True)]


def pw_parameters(parameters: dict, natoms: int, num_electrons: float | None = None) -> dict:
    """Return pw.x parameters with our per-structure keys turned into pw.x's.

    ``ELECTRONS.conv_thr_per_atom`` (Ry/atom) becomes ``conv_thr`` (Ry). ``SYSTEM.nbnd_factor`` becomes ``nbnd``:
    ``factor`` times the occupied bands, at least four more than those. pw.x's own default for metals (1.2 times,
    +4) leaves too few empty bands for 16-atom Li cells with the 1s semicore states at the Gamma point (the last
    band held 0.33 electrons), and aiida-quantumespresso's check then reruns the whole SCF with more bands.
    """
    parameters = copy.deepcopy(parameters)
    electrons = parameters.setdefault('ELECTRONS', {})
    if 'conv_thr_per_atom' in electrons:
        electrons['conv_thr'] = electrons.pop('conv_thr_per_atom') * natoms
    system = parameters.setdefault('SYSTEM', {})
    factor = system.pop('nbnd_factor', None)
    if factor is not None and 'nbnd' not in system and num_electrons is not None:
        occupied = num_electrons / 2
        system['nbnd'] = int(max(np.ceil(factor * occupied), np.ceil(occupied) + 4))
    return parameters


def build_pw_base_inputs(
    code: orm.AbstractCode,
    structure: orm.StructureData,
    family,
    parameters: dict,
    kpoints_spacing: float,
    options: dict | None = None,
    mesh: list[int] | None = None,
    gamma_tricks: bool = True,
) -> dict:
    """Return the inputs of a ``PwBaseWorkChain`` SCF on ``structure``.

    The k-mesh is ``mesh`` if given, else :func:`kpoint_mesh` (spacing in 1/Å without 2*pi; one k-point
    across a vacuum gap). A mesh of the Gamma point alone runs with pw.x's Gamma tricks (``K_POINTS gamma``: real
    wavefunctions, half the plane-wave coefficients) unless ``gamma_tricks`` is False: the same energy, forces and
    stress to the SCF threshold in about half the time (measured: a 16-atom bulk cell 9.6 s against 17.2 s, a 12-atom
    slab 22 s against 51 s). A loose threshold lets the two SCF paths differ by more than the tricks do (0.26 eV/Å on
    one atom at 5e-7 Ry/atom); converged to 1e-9 Ry they agree to 4 meV/Å.
    """
    kpoints = orm.KpointsData()
    mesh = list(mesh) if mesh else kpoint_mesh(structure.get_ase(), kpoints_spacing)
    kpoints.set_kpoints_mesh(mesh)
    pseudos = family.get_pseudos(structure=structure)
    num_electrons = sum(pseudos[site.kind_name].z_valence for site in structure.sites)
    pw = {
        'code': code,
        'structure': structure,
        'pseudos': pseudos,
        'parameters': orm.Dict(pw_parameters(parameters, len(structure.sites), num_electrons)),
        'metadata': {'options': {**DEFAULT_OPTIONS, **(options or {})}},
    }
    if gamma_tricks and mesh == [1, 1, 1]:
        pw['settings'] = orm.Dict({'GAMMA_ONLY': True})
    return {'kpoints': kpoints, 'pw': pw}
