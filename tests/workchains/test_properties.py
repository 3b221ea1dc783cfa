"""Property work chains with SNAP through the runner, each checked against an independent direct calculation."""

import numpy as np
import pytest
from aiida import engine, orm
from ase.build import bcc100, bulk
from ase.optimize import BFGS
from ase.units import GPa

from aiida_limlip.data.potential import PotentialData
from aiida_limlip.workchains.properties.elastic import ElasticConstantsWorkChain
from aiida_limlip.workchains.properties.phonons import PhononWorkChain
from aiida_limlip.workchains.properties.surfaces import SurfaceEnergyWorkChain
from aiida_limlip.workchains.properties.vacancy import VacancyFormationWorkChain

#: Close to SNAP's bcc minimum (3.5061 Å); the checks below do not need it exact.
A_SNAP = 3.506


def snap_calculator():
    """SNAP evaluated by LAMMPS through ASE directly, without the runner or any aiida-limlip work chain."""
    return PotentialData.from_snap_zuo2020().get_ase_calculator()


def run_ok(builder):
    """Run a builder in-process and return its outputs and node, requiring success."""
    outputs, node = engine.run_get_node(builder)
    assert node.is_finished_ok, f'[{node.exit_status}] {node.exit_message}'
    return outputs, node


@pytest.mark.slow
def test_elastic_constants_match_direct_central_differences(runner_code, snap_potential):
    """C11, C12, C44 agree with central stress differences computed directly with ASE; the fitted tensor is symmetric
    and cubic, and the Hill bulk modulus is (C11 + 2 C12)/3."""
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A_SNAP, cubic=True))
    builder = ElasticConstantsWorkChain.get_builder_from_protocol(runner_code, structure, snap_potential)
    outputs, node = run_ok(builder)
    results = outputs['results']

    # Independent: strain the 2-atom cube by hand (ions stay on inversion centres, so no relaxation is needed).
    atoms = bulk('Li', 'bcc', a=A_SNAP, cubic=True)
    calculator, eps = snap_calculator(), 0.005

    def stress(voigt_strain):
        strained = atoms.copy()
        strain = np.zeros((3, 3))
        for (i, j), value in voigt_strain.items():
            strain[i, j] = strain[j, i] = value
        strained.set_cell(atoms.cell @ (np.eye(3) + strain), scale_atoms=True)
        strained.calc = calculator
        return strained.get_stress(voigt=True) / GPa

    d_xx = (stress({(0, 0): eps}) - stress({(0, 0): -eps})) / (2 * eps)
    d_yz = (stress({(1, 2): eps / 2}) - stress({(1, 2): -eps / 2})) / (2 * eps)
    # Central differences at ±0.5 % vs a linear fit over ±0.5 % and ±1 %: cubic terms differ by < 1 % of C for Li.
    assert results['C11'] == pytest.approx(d_xx[0], rel=0.01)
    assert results['C12'] == pytest.approx(d_xx[1], rel=0.01)
    assert results['C44'] == pytest.approx(d_yz[3], rel=0.01)
    tensor = outputs['elastic_tensor'].get_array('raw_tensor')
    assert np.abs(tensor - tensor.T).max() < 0.01 * np.abs(tensor).max()
    assert abs(tensor[0, 3]) < 0.01 and abs(tensor[3, 4]) < 0.01  # cubic: no normal-shear coupling
    assert results['bulk_modulus_hill'] == pytest.approx((results['C11'] + 2 * results['C12']) / 3, rel=1e-9)
    assert results['zener_anisotropy'] == pytest.approx(2 * results['C44'] / (results['C11'] - results['C12']))
    assert results['fit_r2_min'] > 0.995  # second-order terms of soft Li at ±1 % strain leave ~0.2 %
    assert outputs['C11'].base.attributes.get('unit') == 'GPa'
    report = '\n'.join(log.message for log in orm.Log.collection.get_logs_for(node))
    assert 'relax of 25 strained cells' in report and 'C11 =' in report

    # The graph answers "elastic constants of this potential" for any node holding the same files.
    from aiida_limlip.query import get_property_results

    rows = [r for r in get_property_results('elastic', PotentialData.from_snap_zuo2020()) if r['workchain'] == node.pk]
    assert len(rows) == 1 and rows[0]['C44'] == results['C44'] and rows[0]['units']['C44'] == 'GPa'


def test_xx_strains_alone_give_the_tetragonal_shear(runner_code, snap_potential):
    """strain_components [0]: C11, C12 and C' = (C11 - C12)/2 from xx strains only, as the central differences."""
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A_SNAP, cubic=True))
    builder = ElasticConstantsWorkChain.get_builder_from_protocol(
        runner_code, structure, snap_potential, overrides={'strain_magnitudes': [0.005], 'strain_components': [0]}
    )
    outputs, node = run_ok(builder)
    results = outputs['results']
    atoms = bulk('Li', 'bcc', a=A_SNAP, cubic=True)
    stresses = []
    for eps in (0.005, -0.005):
        strained = atoms.copy()
        strained.set_cell(atoms.cell @ np.diag([1 + eps, 1, 1]), scale_atoms=True)
        strained.calc = snap_calculator()
        stresses.append(strained.get_stress(voigt=True) / GPa)
    d_xx = (stresses[0] - stresses[1]) / 0.01
    assert results['number_of_strains'] == 2
    assert results['C11'] == pytest.approx(d_xx[0], rel=1e-3)
    assert results['C12'] == pytest.approx(d_xx[1], rel=1e-3)
    assert results['C_prime'] == pytest.approx((d_xx[0] - d_xx[1]) / 2, rel=1e-3)
    assert 'C44' not in results and 'C44' not in outputs and 'elastic_tensor' not in outputs
    report = '\n'.join(log.message for log in orm.Log.collection.get_logs_for(node))
    assert "C' =" in report and 'xx strains only' in report


@pytest.mark.slow
def test_vacancy_formation_energy_matches_direct_relaxation(runner_code, snap_potential):
    """E_v of the 54-site cell agrees with a direct ASE BFGS relaxation of an independently built supercell."""
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A_SNAP))  # primitive: the chain builds the cube itself
    builder = VacancyFormationWorkChain.get_builder_from_protocol(runner_code, structure, snap_potential)
    outputs, _ = run_ok(builder)
    results = outputs['results']
    assert sorted(results['per_size']) == ['2', '3']
    assert results['per_size']['3']['natoms'] == 54

    perfect = bulk('Li', 'bcc', a=A_SNAP, cubic=True).repeat(3)
    perfect.calc = snap_calculator()
    e_perfect = perfect.get_potential_energy()
    vacancy = perfect.copy()
    del vacancy[13]  # any site: all are equivalent
    vacancy.calc = snap_calculator()
    BFGS(vacancy, logfile=None).run(fmax=1e-3)
    expected = vacancy.get_potential_energy() - 53 / 54 * e_perfect
    # Both relaxed to forces of a few meV/Å: the remaining energy error is below 1 meV.
    assert outputs['vacancy_formation_energy'].value == pytest.approx(expected, abs=2e-3)
    assert results['size_convergence'] == pytest.approx(
        abs(results['per_size']['3']['formation_energy'] - results['per_size']['2']['formation_energy'])
    )


@pytest.mark.slow
def test_surface_energies_match_ase_slab_and_wulff(runner_code, snap_potential):
    """gamma(100) agrees with a slab built by ASE's bcc100 and relaxed directly; the Wulff shape is consistent."""
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A_SNAP, cubic=True))
    builder = SurfaceEnergyWorkChain.get_builder_from_protocol(runner_code, structure, snap_potential)
    outputs, _ = run_ok(builder)
    energies = outputs['results']['surface_energies']
    assert sorted(energies) == ['100', '110', '111']
    assert outputs['results']['facets']['100']['natoms'] == 6

    slab = bcc100('Li', size=(1, 1, 6), a=A_SNAP, vacuum=6.0, periodic=True)
    slab.calc = snap_calculator()
    BFGS(slab, logfile=None).run(fmax=1e-3)
    reference = bulk('Li', 'bcc', a=A_SNAP, cubic=True)
    reference.calc = snap_calculator()
    e_bulk = reference.get_potential_energy() / len(reference)
    area = np.linalg.norm(np.cross(slab.cell[0], slab.cell[1]))
    expected = (slab.get_potential_energy() - len(slab) * e_bulk) / (2 * area)
    # Same 6-layer slab, independent builder and relaxation (fast protocol: fmax 1e-2 eV/Å, i.e. < 1e-5 eV/Å^2).
    assert energies['100'] == pytest.approx(expected, abs=1e-4)
    assert 0.02 < energies['110'] < 0.04 and 0.02 < energies['111'] < 0.04

    wulff = outputs['wulff']
    assert sum(wulff['area_fractions'].values()) == pytest.approx(1.0)
    assert wulff['weighted_surface_energy'] == pytest.approx(
        sum(wulff['area_fractions'][f] * energies[f] for f in energies)
    )
    assert outputs['wulff_image'].get_content('rb').startswith(b'\x89PNG')


@pytest.mark.slow
def test_phonons_match_ase_phonons_module(runner_code, snap_potential, tmp_path):
    """Frequencies at H and N agree with ASE's own Phonons module (another code) with the same SNAP and supercell."""
    from ase.phonons import Phonons

    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A_SNAP))
    builder = PhononWorkChain.get_builder_from_protocol(
        runner_code, structure, snap_potential, overrides={'supercell': [4, 4, 4]}
    )
    outputs, _ = run_ok(builder)
    points = outputs['results']['special_points']
    assert outputs['results']['dynamically_stable']
    assert outputs['band_structure'].get_bands().shape[1] == 3
    frequencies, dos = outputs['dos'].get_x()[1], outputs['dos'].get_y()[0][1]
    assert np.trapezoid(dos, frequencies) == pytest.approx(3.0, rel=0.02)  # 3 modes per atom of the unit cell
    assert outputs['band_plot'].get_content('rb').startswith(b'\x89PNG')

    atoms = bulk('Li', 'bcc', a=A_SNAP)
    phonons = Phonons(atoms, snap_calculator(), supercell=(4, 4, 4), delta=0.01, name=str(tmp_path / 'phonon'))
    phonons.run()
    phonons.read(acoustic=True)
    special = atoms.cell.bandpath().special_points
    thz = 1e-12 / 4.135667696e-15  # eV to THz
    for label in ('H', 'N'):
        reference = np.sort(phonons.band_structure([special[label]])[0]) * thz
        # H and N are commensurate with the 4x4x4 supercell: both codes see the same force constants there.
        assert np.sort(points[label]) == pytest.approx(reference, abs=0.02)


@pytest.mark.parametrize(
    ('process', 'overrides', 'message'),
    [
        (SurfaceEnergyWorkChain, {'max_index': None, 'miller_indices': [[0, 0, 0]]}, 'impossible Miller index'),
        (SurfaceEnergyWorkChain, {'max_index': 0}, 'max_index must be at least 1'),
        (ElasticConstantsWorkChain, {'strain_magnitudes': [0.0]}, 'at least one non-zero strain'),
        (ElasticConstantsWorkChain, {'strain_components': [0, 1]}, 'strain_components must be'),
        (PhononWorkChain, {'supercell': [0, 5, 5]}, 'repeats must be positive'),
        (VacancyFormationWorkChain, {'supercell_sizes': [2.5]}, 'positive integers'),
    ],
)
def test_bad_property_inputs_fail_before_submission(runner_code, snap_potential, process, overrides, message):
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A_SNAP))
    count = orm.QueryBuilder().append(orm.ProcessNode).count()
    with pytest.raises(ValueError, match=message):
        process.get_builder_from_protocol(runner_code, structure, snap_potential, overrides=overrides)
    assert orm.QueryBuilder().append(orm.ProcessNode).count() == count


def test_elastic_refuses_non_cubic_and_stressless(runner_code, snap_potential):
    hcp = orm.StructureData(ase=bulk('Li', 'hcp', a=3.1, c=5.1))
    with pytest.raises(ValueError, match='not cubic'):
        ElasticConstantsWorkChain.get_builder_from_protocol(runner_code, hcp, snap_potential)
    stressless = PotentialData('ase', ['Li'], parameters={'calculator': 'lj'}, properties=['energy', 'forces'])
    stressless.store()
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A_SNAP))
    with pytest.raises(ValueError, match='does not predict stress'):
        ElasticConstantsWorkChain.get_builder_from_protocol(runner_code, structure, stressless)


def test_engine_errors(runner_code, snap_potential, pw_code, li_family):
    structure = orm.StructureData(ase=bulk('Li', 'bcc', a=A_SNAP))
    with pytest.raises(ValueError, match='no code was given for the pw engine'):
        ElasticConstantsWorkChain.get_builder_from_protocol(runner_code, structure)
    with pytest.raises(ValueError, match=r'no code was given for the ase engine \(a `limlip.run` code\)'):
        ElasticConstantsWorkChain.get_builder_from_protocol(pw_code, structure, snap_potential)
    builder = ElasticConstantsWorkChain.get_builder_from_protocol(pw_code, structure)
    assert builder.evaluation.engine.value == 'pw'
    assert builder.strain_components.get_list() == [0, 3]  # the cubic fit: 9 SCFs instead of 25
    assert builder.evaluation.pw.kpoints_spacing.value == 0.03
    assert builder.evaluation.pw.parameters['SYSTEM']['ecutwfc'] == 90.0
    with pytest.raises(ValueError, match='unknown protocol'):
        ElasticConstantsWorkChain.get_builder_from_protocol(pw_code, structure, protocol='exact')
