"""The DFT route of the property work chains: pw.x gives a0, B, C11, C12 and C44 of bcc Li (fast protocol).

The converged DFT column (paper settings, denser meshes) is in benchmarks/dft_convergence.py and dft_column.py.
"""

import numpy as np
import pytest
from aiida import engine, orm
from ase.build import bulk

from aiida_limlip.workchains.dft import kpoint_mesh
from aiida_limlip.workchains.properties.elastic import ElasticConstantsWorkChain
from aiida_limlip.workchains.properties.eos import EquationOfStateWorkChain

from ..conftest import long_test

#: Paper Table 1, "DFT (paper)" column.
PAPER = {'a0': 3.434, 'B': 13.7, 'C11': 14.8, 'C12': 13.1, 'C44': 10.4}


@pytest.mark.slow
def test_pw_lattice_constant_bulk_modulus_and_elastic_constants(pw_code, li_family):
    """Same structure generation and analysis as for potentials, with pw.x evaluating the cells.

    Tolerances are those of the ``fast`` protocol (90 Ry, 14x14x14 k-points), not the paper's converged settings
    (benchmarks/dft_table1.py): a0 within 0.5 % and B within 10 % of the paper's PBE values; the shear constant
    C' = (C11 - C12)/2 of Li is below 1 GPa and needs denser k-points, so C11 and C12 are only checked to 15 %. The
    bulk modulus from stresses, (C11 + 2 C12)/3, agrees with the E-V fit (energies) to 5 %: an internal check that
    does not depend on convergence. The xx strains only: the yz shear's monoclinic cells need about three times the
    k-points of the tetragonal ones and took two thirds of this test; C44 is in the opt-in test below.
    """
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.43))
    # Five volumes over the protocol's ±4 % rather than seven: the fit's a0 and B move by far less than the tolerances.
    overrides = {'volume_strains': [-0.04, -0.02, 0.0, 0.02, 0.04]}
    eos, node = engine.run_get_node(
        EquationOfStateWorkChain.get_builder_from_protocol(pw_code, structure, overrides=overrides)
    )
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    assert 'relax' not in node.inputs  # the runner's relaxation is for potentials only
    # Every volume on the input cell's mesh (14^3 at 0.03 1/Å), though ceil(|b|/spacing) would differ at ±4 %.
    meshes = {
        tuple(calc.inputs.kpoints.get_kpoints_mesh()[0])
        for calc in node.called_descendants
        if calc.process_label == 'PwCalculation'
    }
    assert meshes == {tuple(kpoint_mesh(structure.get_ase(), 0.03))} == {(14, 14, 14)}
    assert eos['lattice_constant'].value == pytest.approx(PAPER['a0'], rel=0.005)
    assert eos['bulk_modulus'].value == pytest.approx(PAPER['B'], rel=0.10)

    builder = ElasticConstantsWorkChain.get_builder_from_protocol(
        pw_code, eos['equilibrium_structure'], overrides={'strain_magnitudes': [0.01], 'dft_strain_components': [0]}
    )
    elastic, node = engine.run_get_node(builder)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    results = elastic['results']
    assert results['number_of_strains'] == 2  # xx, both signs
    assert results['C11'] == pytest.approx(PAPER['C11'], rel=0.15)
    assert results['C12'] == pytest.approx(PAPER['C12'], rel=0.15)
    assert (results['C11'] + 2 * results['C12']) / 3 == pytest.approx(eos['bulk_modulus'].value, rel=0.05)


@pytest.mark.slow
@long_test(
    'C44 from pw.x at the fast protocol: the cubic pair of strains at 14^3, 3 min beside the rest; over the CI budget'
)
def test_pw_c44(pw_code, li_family):
    """C44 from the yz shear at the fast protocol (with the xx pair: the work chain takes [0, 3], not [3] alone),
    within 15 % of the paper's, from our pw.x a0 (3.43 Å)."""
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.43))
    builder = ElasticConstantsWorkChain.get_builder_from_protocol(
        pw_code, structure, overrides={'strain_magnitudes': [0.01], 'dft_strain_components': [0, 3]}
    )
    elastic, node = engine.run_get_node(builder)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    assert elastic['results']['C44'] == pytest.approx(PAPER['C44'], rel=0.15)


@pytest.mark.slow
def test_pw_full_elastic_tensor_is_symmetric_and_cubic(pw_code, li_family):
    """All six strains with pw.x: C_ij = C_ji and the cubic pattern, from stresses of twelve independent SCFs.

    Cheap settings (6^3 mesh, 30 Ry): the values are not converged, but symmetry does not depend on convergence,
    only on consistent strains, stresses and Voigt bookkeeping (e.g. C12 from sigma_yy under e_xx, C21 from sigma_xx
    under e_yy; engineering shear strains). The shared mesh is Gamma-centred, hence cubic, so any asymmetry beyond
    the SCF noise is a bookkeeping error.
    """
    overrides = {
        'strain_magnitudes': [0.01],
        'dft_strain_components': [0, 1, 2, 3, 4, 5],
        'evaluation': {
            'dft_overrides': {'kpoints_mesh': [6, 6, 6], 'parameters': {'SYSTEM': {'ecutwfc': 30.0, 'ecutrho': 120.0}}}
        },
    }
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=3.43))
    elastic, node = engine.run_get_node(
        ElasticConstantsWorkChain.get_builder_from_protocol(pw_code, structure, overrides=overrides)
    )
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    tensor = elastic['elastic_tensor'].get_array('raw_tensor')
    scale = np.abs(tensor).max()
    assert elastic['results']['number_of_strains'] == 12
    assert np.abs(tensor - tensor.T).max() < 0.01 * scale
    assert np.allclose(np.diag(tensor)[:3], tensor[0, 0], rtol=0.01)  # C11 = C22 = C33
    assert np.allclose(np.diag(tensor)[3:], tensor[3, 3], rtol=0.01)  # C44 = C55 = C66
    assert np.abs(tensor[:3, 3:]).max() < 0.01 * scale  # no normal-shear coupling
    # The values themselves are not converged at 6^3 (at 8^3 C11 came out negative): the physics is in the first test.


def test_converged_elastic_protocol(pw_code, li_family):
    """`converged`: the paper's DFT settings with the k-spacing at which C' is converged (42^3 for primitive Li)."""
    builder = ElasticConstantsWorkChain.get_builder_from_protocol(
        pw_code, orm.StructureData(ase=bulk('Li', 'bcc', a=3.435)), protocol='converged'
    )
    pw = builder.evaluation.pw
    assert pw.kpoints_mesh.get_list() == [42, 42, 42]
    assert pw.parameters['SYSTEM']['ecutwfc'] == 100.0 and pw.parameters['SYSTEM']['degauss'] == 0.0198


def test_fast_surfaces_protocol_gives_pw_a_cutoff_thin_slabs_converge_at(pw_code, li_family):
    """At the labelling protocol's 30/120 Ry a thin Li slab's SCF stalls near 1e-6 Ry (the density goes negative in
    the vacuum); the surfaces `fast` protocol gives pw.x 60/240 Ry, where it converged in 13 steps (measured)."""
    from aiida_limlip.workchains.properties.surfaces import SurfaceEnergyWorkChain

    builder = SurfaceEnergyWorkChain.get_builder_from_protocol(
        pw_code, orm.StructureData(ase=bulk('Li', 'bcc', a=3.435, cubic=True))
    )
    system = builder.evaluation.pw.parameters['SYSTEM']
    assert (system['ecutwfc'], system['ecutrho']) == (60.0, 240.0)
    paper = SurfaceEnergyWorkChain.get_builder_from_protocol(
        pw_code, orm.StructureData(ase=bulk('Li', 'bcc', a=3.435, cubic=True)), protocol='paper'
    )
    assert paper.evaluation.pw.parameters['SYSTEM']['ecutwfc'] == 100.0  # the override is the fast protocol's only
