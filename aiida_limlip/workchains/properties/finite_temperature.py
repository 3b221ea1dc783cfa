"""Finite-temperature bulk properties from MD (the paper's Fig. 2): a(T) and C_ij(T), for any potential.

``ThermalExpansionWorkChain`` heats a supercell and runs NPT at zero stress at each temperature;
``FiniteTemperatureElasticWorkChain`` strains the mean box of each temperature and fits NVT-averaged stresses. Every
MD run is a job of the evaluation seam (LAMMPS for SNAP, MEAM and DeePMD, the runner's ASE MD for NequIP), and the
runs of all temperatures are submitted at once, so they run side by side.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext

from ...analysis.elastic import strain_magnitudes_error
from ...analysis.structures import is_cubic
from ...analysis.thermal import MARTENSITIC_TEMPERATURE, MAX_STRAIN, temperature_label, temperatures_error
from ...calcfunctions.elastic import strained_structures
from ...calcfunctions.thermal import (
    analyse_thermal_expansion,
    cells_at_temperatures,
    fit_elastic_at_temperatures,
    md_supercell,
)
from ...data.potential import PotentialData
from ...runner.base import is_orthorhombic
from ..common import describe_failure
from .base import PropertyWorkChain, stress_error

#: MD parameters the work chains set themselves, from ``temperatures`` and ``heating_rate``.
SET_BY_WORK_CHAIN = ('temperature', 'initial_temperature', 'ramp_steps')


def _md_parameters_error(inputs: dict, ensembles: tuple[str, ...]) -> str | None:
    evaluation = inputs.get('evaluation', {})
    parameters = evaluation['parameters'].get_dict() if 'parameters' in evaluation else {}
    fixed = [key for key in SET_BY_WORK_CHAIN if key in parameters]
    if fixed:
        return f'evaluation.parameters: {", ".join(fixed)} are set by the work chain from `temperatures`'
    if parameters.get('ensemble', ensembles[0]) not in ensembles:
        return f'evaluation.parameters: the ensemble must be {" or ".join(ensembles)}, got {parameters["ensemble"]}'
    return None


def _lattice_constants_error(
    lattice: orm.ArrayData, structure: orm.StructureData, asked: orm.List | None
) -> str | None:
    """Return why ``lattice`` cannot start the elastic runs at the ``asked`` temperatures (default: all of them)."""
    if lattice.base.attributes.get('repeat', None) is None or 'temperatures' not in lattice.get_arraynames():
        return 'lattice_constants is not the `lattice_constants` output of a ThermalExpansionWorkChain'
    if lattice.base.attributes.get('structure_uuid', None) != structure.uuid:
        return (
            'lattice_constants belong to another structure: give the `structure` the ThermalExpansionWorkChain '
            'started from'
        )
    labels = [temperature_label(t) for t in lattice.get_array('temperatures')]
    cubic = lattice.get_array('cubic') if 'cubic' in lattice.get_arraynames() else [True] * len(labels)
    temperatures = asked.get_list() if asked is not None else lattice.get_array('temperatures').tolist()
    if asked is not None:
        message = temperatures_error(temperatures, allow_above_melting=True)
        if message:
            return message
    missing = [t for t in temperatures if temperature_label(t) not in labels]
    if missing:
        return f'no lattice constant at {missing} K: run ThermalExpansionWorkChain there first'
    transformed = [t for t in temperatures if not cubic[labels.index(temperature_label(t))]]
    if transformed:
        return (
            f'at {transformed} K the crystal did not stay cubic in the NPT run (the box transformed): cubic elastic '
            'constants are meaningless there; leave these temperatures out with `temperatures`'
        )
    return None


class _FiniteTemperatureWorkChain(PropertyWorkChain):
    """The shared parts: MD runs at several temperatures, one evaluation per temperature, submitted together."""

    _evaluation_task = 'md'

    def md_parameters(self, temperature: float, **changes) -> dict:
        """Return the MD parameters of the protocol for ``temperature`` (K), updated by ``changes``."""
        parameters = self.inputs.evaluation.parameters.get_dict() if 'parameters' in self.inputs.evaluation else {}
        return {**parameters, 'temperature': float(temperature), **changes}

    def submit_temperatures(self, batches: dict[str, tuple[dict, dict, str]]):
        """Submit one evaluation per temperature label: ``label -> (structures, parameters, batch name)``."""
        futures = {}
        for label, (structures, parameters, batch) in batches.items():
            futures.update(self.evaluate(structures, parameters=parameters, key=f'runs.{label}', batch=batch))
        return ToContext(**futures)

    def failed_runs(self):
        """Return the exit code if the MD of any temperature failed, else None."""
        failed = {label: node for label, node in self.ctx.runs.items() if not node.is_finished_ok}
        if not failed:
            return None
        message = '; '.join(f'{label}: {describe_failure(node)}' for label, node in sorted(failed.items()))
        return self.exit_codes.ERROR_EVALUATION_FAILED.format(batch=self._batch_name, message=message)

    def attach(self, outputs: dict) -> None:
        """Attach the outputs of the analysis calcfunction."""
        for key, value in outputs.items():
            if isinstance(value, dict):
                for label, node in value.items():
                    self.out(f'{key}.{label}', node)
            else:
                self.out(key, value)


class ThermalExpansionWorkChain(_FiniteTemperatureWorkChain):
    """The lattice constant against temperature from NPT MD at zero stress, and the thermal expansion coefficient.

    From the potential's 0 K equilibrium (a conventional cubic cell with its axes along x, y, z, e.g. the
    ``equilibrium_structure`` of ``EquationOfStateWorkChain``), a supercell is heated from 1 K at ``heating_rate``
    and then run in NPT at zero stress with an orthorhombic box whose sides move independently. The heating and the
    first ``equilibration_steps`` of the NPT run are discarded; the box is averaged over the rest.
    """

    _protocol_file = 'thermal_expansion.yaml'
    _batch_name = 'NPT runs'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('temperatures', valid_type=orm.List, help='Temperatures of the NPT runs (K).')
        spec.input(
            'supercell',
            valid_type=orm.List,
            help="Repeats of the conventional cell along x, y, z (1): [6, 6, 6] is the paper's 432-atom cell.",
        )
        spec.input(
            'heating_rate',
            valid_type=orm.Float,
            help='Heating rate from 1 K to each temperature before the NPT run (K/step; the paper: 0.01); 0 starts '
            'at the temperature, with Maxwell-Boltzmann velocities.',
        )
        spec.input(
            'allow_above_melting',
            valid_type=orm.Bool,
            default=lambda: orm.Bool(False),
            help='Run temperatures above the melting point of Li (453.65 K), e.g. to study superheating.',
        )
        spec.outline(cls.setup, cls.run_md, cls.analyse)
        spec.output(
            'results',
            valid_type=orm.Dict,
            help='Per temperature: mean, standard deviation and blocked standard error of a (Å), the box (Å) and the '
            'pressure (GPa); the fit of a(T): slope (Å/K), a(0 K) (Å), thermal expansion coefficient (1/K).',
        )
        spec.output(
            'lattice_constants',
            valid_type=orm.ArrayData,
            help='Arrays against `temperatures` (K): lattice_constant, _std, _sem (Å), box and box_sem (Å, per side), '
            'pressure and pressure_sem (GPa), temperature (K); the input of FiniteTemperatureElasticWorkChain.',
        )
        spec.output_namespace(
            'equilibrated_structures',
            valid_type=orm.StructureData,
            dynamic=True,
            help='The supercell at the mean box of each temperature (Å), by label (T_300 for 300 K).',
        )
        spec.output(
            'thermal_expansion_coefficient',
            valid_type=orm.Float,
            required=False,
            help='Linear thermal expansion coefficient (1/K) at the middle of the range, from a linear fit of a(T).',
        )
        spec.default_output_node = 'results'

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Temperatures above 0 K and below melting, a cubic cell along x, y, z, positive repeats, NPT, stress."""
        message = stress_error(potential, 'NPT at zero stress needs it')
        if message:
            return message
        if potential is None and inputs.get('evaluation', {}).get('engine', orm.Str('')).value == 'pw':
            return 'MD with pw.x is not supported: give a potential'
        if 'temperatures' in inputs:
            allow = inputs.get('allow_above_melting', orm.Bool(False)).value
            message = temperatures_error(inputs['temperatures'].get_list(), allow)
            if message:
                return message
        supercell = inputs['supercell'].get_list() if 'supercell' in inputs else [1, 1, 1]
        if len(supercell) != 3 or not all(isinstance(n, int) and n > 0 for n in supercell):
            return f'supercell must be three positive integers, got {supercell}'
        if 'heating_rate' in inputs and inputs['heating_rate'].value < 0:
            return f'heating_rate must be >= 0 K/step, got {inputs["heating_rate"].value}'
        atoms = inputs['structure'].get_ase()
        if not is_orthorhombic(atoms) or not is_cubic(atoms):
            return 'the structure must be a conventional cubic cell with its axes along x, y and z'
        return _md_parameters_error(inputs, ('npt',))

    @classmethod
    def fill_builder(cls, builder, inputs: dict) -> None:
        """Set the temperatures, the supercell and the heating rate."""
        builder.temperatures = orm.List([float(t) for t in inputs['temperatures']])
        builder.supercell = orm.List(inputs['supercell'])
        builder.heating_rate = orm.Float(inputs['heating_rate'])
        if 'allow_above_melting' in inputs:
            builder.allow_above_melting = orm.Bool(inputs['allow_above_melting'])

    def setup(self):
        """Build the MD supercell; note temperatures where bcc Li is metastable."""
        self.ctx.supercell = md_supercell(
            self.inputs.structure, self.inputs.supercell, metadata={'call_link_label': 'supercell'}
        )
        cold = [t for t in self.inputs.temperatures.get_list() if t < MARTENSITIC_TEMPERATURE]
        if cold:
            self.report(
                f'bcc Li is metastable below ~{MARTENSITIC_TEMPERATURE:.0f} K (martensitic transition): {cold} K '
                'sample the metastable bcc crystal'
            )

    def run_md(self):
        """Submit the heating and NPT run of every temperature at once."""
        rate = self.inputs.heating_rate.value
        self.ctx.first_steps, self.ctx.temperatures = {}, {}
        batches = {}
        for temperature in self.inputs.temperatures.get_list():
            label = temperature_label(temperature)
            if rate > 0:
                ramp = max(1, round((temperature - 1.0) / rate))
                parameters = self.md_parameters(temperature, initial_temperature=1.0, ramp_steps=ramp)
            else:
                ramp = 0
                parameters = self.md_parameters(temperature)
            parameters['ensemble'] = 'npt'
            self.ctx.first_steps[label] = ramp + parameters.get('equilibration_steps', 0)
            self.ctx.temperatures[label] = float(temperature)
            batches[label] = ({'cell': self.ctx.supercell}, parameters, f'supercell ({temperature:g} K)')
        return self.submit_temperatures(batches)

    def analyse(self):
        """Average the boxes, fit a(T) and attach the results."""
        failed = self.failed_runs()
        if failed:
            return failed
        settings = {
            'repeat': self.inputs.supercell.get_list(),
            'structure_uuid': self.inputs.structure.uuid,
            'runs': {
                label: {'temperature': self.ctx.temperatures[label], 'first_step': self.ctx.first_steps[label]}
                for label in self.ctx.runs
            },
        }
        thermo = {label: node.outputs.thermo.cell for label, node in self.ctx.runs.items()}
        outputs, node = analyse_thermal_expansion.run_get_node(
            self.ctx.supercell, orm.Dict(settings), **thermo, metadata={'call_link_label': 'analysis'}
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=describe_failure(node))
        results = outputs['results']
        for label in results['labels']:
            entry = results['by_temperature'][label]
            a, p = entry['lattice_constant'], entry['pressure']
            if not entry['cubic']:
                self.report(
                    f'{entry["temperature"]["mean"]:.1f} K: the box did not stay cubic (sides differ by '
                    f'{entry["box_spread"]:.1%}): the crystal transformed; left out of the fit of a(T)'
                )
                continue
            self.report(
                f'{entry["temperature"]["mean"]:.1f} K: a = {a["mean"]:.4f} ± {a["std"]:.4f} Å (standard error '
                f'{a["sem"]:.1e}), pressure {p["mean"]:+.3f} ± {p["sem"]:.3f} GPa'
            )
        fit = results['fit']
        if fit:
            self.report(
                f'alpha = {fit["thermal_expansion_coefficient"] * 1e6:.1f} ± '
                f'{fit["thermal_expansion_coefficient_error"] * 1e6:.1f} 1e-6/K at {fit["reference_temperature"]:.0f} '
                f'K; a(0 K) extrapolated = {fit["extrapolated_lattice_constant"]:.4f} Å'
            )
        self.attach(outputs)
        return None


class FiniteTemperatureElasticWorkChain(_FiniteTemperatureWorkChain):
    """C11, C12 and C44 against temperature from stress-strain fits of NVT-averaged stresses.

    At each temperature the supercell at the mean box of ``ThermalExpansionWorkChain`` (its ``lattice_constants``
    output) is strained by each Voigt component of ``strain_components`` (by default 0, the orthorhombic xx strain
    that gives C11 and C12, and 3, the monoclinic yz shear that gives C44) at each magnitude of both signs; every cell
    and the unstrained one run NVT, and the stresses averaged after equilibration are fitted with straight lines
    weighted by their blocked standard errors. The moduli (VRH, Young, Poisson, anisotropies) follow with propagated
    errors.
    """

    _protocol_file = 'elastic_t.yaml'
    _batch_name = 'strained NVT runs'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input(
            'lattice_constants',
            valid_type=orm.ArrayData,
            help='The `lattice_constants` output of ThermalExpansionWorkChain of the same structure and potential: '
            'the mean box (Å) and supercell at each temperature.',
        )
        spec.input(
            'temperatures',
            valid_type=orm.List,
            required=False,
            help='Temperatures (K), a subset of those of `lattice_constants`; default: all of them.',
        )
        spec.input(
            'strain_magnitudes',
            valid_type=orm.List,
            help=f'Engineering strain magnitudes (1), each applied with both signs; at most {MAX_STRAIN} (the linear '
            'regime of Li).',
        )
        spec.input(
            'strain_components',
            valid_type=orm.List,
            default=lambda: orm.List([0, 3]),
            help='Voigt components strained (0-2 normal, 3-5 shear); at least one of each kind. [0, 3]: the '
            'orthorhombic and the monoclinic strain; all six triple the statistics.',
        )
        spec.outline(cls.generate, cls.run_md, cls.fit)
        spec.output(
            'results',
            valid_type=orm.Dict,
            help='Per temperature: C11, C12, C44 (GPa) with the standard errors and reduced chi^2 of their fits, the '
            "moduli (GPa) and anisotropies (1) with propagated errors, the unstrained cell's mean stress (GPa).",
        )
        spec.output(
            'elastic_constants',
            valid_type=orm.ArrayData,
            help='Arrays against `temperatures` (K): C11, C12, C44, bulk_modulus_vrh, shear_modulus_vrh, '
            'youngs_modulus (GPa), zener_anisotropy, universal_anisotropy, poisson_ratio (1); each with '
            '`<name>_error`.',
        )
        spec.default_output_node = 'results'

    @classmethod
    def validate_property(cls, inputs: dict, potential: PotentialData | None) -> str | None:
        """Stress, a cubic cell, its own lattice constants, known temperatures, strains in the linear regime."""
        message = stress_error(potential, 'elastic constants are fitted to stresses')
        if message:
            return message
        if not is_cubic(inputs['structure'].get_ase()):
            return 'the structure is not cubic: C11, C12, C44 use cubic symmetry'
        lattice = inputs.get('lattice_constants')
        if lattice is not None:
            message = _lattice_constants_error(lattice, inputs['structure'], inputs.get('temperatures'))
            if message:
                return message
        components = inputs['strain_components'].get_list() if 'strain_components' in inputs else [0, 3]
        chosen = set(components)
        if not chosen <= set(range(6)) or not chosen & {0, 1, 2} or not chosen & {3, 4, 5}:
            return f'strain_components must be Voigt components 0-5, a normal (0-2) and a shear (3-5) one: {components}'
        if 'strain_magnitudes' in inputs:
            message = strain_magnitudes_error(inputs['strain_magnitudes'].get_list(), MAX_STRAIN)
            if message:
                return f"{message}: Li's C' is only ~1 GPa"
        return _md_parameters_error(inputs, ('nvt_langevin', 'nvt_nose_hoover'))

    @classmethod
    def fill_builder(cls, builder, inputs: dict) -> None:
        """Set the strains."""
        builder.strain_magnitudes = orm.List(inputs['strain_magnitudes'])
        builder.strain_components = orm.List(inputs['strain_components'])

    def generate(self):
        """Build the supercell at each temperature's mean box and its strained copies."""
        temperatures = (
            self.inputs.temperatures.get_list()
            if 'temperatures' in self.inputs
            else self.inputs.lattice_constants.get_array('temperatures').tolist()
        )
        cells = cells_at_temperatures(
            self.inputs.structure,
            self.inputs.lattice_constants,
            orm.List([float(t) for t in temperatures]),
            metadata={'call_link_label': 'cells'},
        )
        self.ctx.temperatures = {temperature_label(t): float(t) for t in temperatures}
        self.ctx.strains, self.ctx.cells = {}, {}
        for label, cell in cells.items():
            outputs = strained_structures(
                cell,
                self.inputs.strain_magnitudes,
                self.inputs.strain_components,
                metadata={'call_link_label': f'strain_{label}'},
            )
            self.ctx.strains[label] = outputs.pop('strains').get_dict()
            self.ctx.cells[label] = outputs

    def run_md(self):
        """Submit the NVT runs of every strained cell at every temperature at once."""
        batches = {}
        for label, cells in self.ctx.cells.items():
            temperature = self.ctx.temperatures[label]
            # Ideal positions with velocities at 2 T: equipartition brings the crystal to T within a few periods.
            parameters = self.md_parameters(temperature, initial_temperature=2.0 * temperature)
            parameters.setdefault('ensemble', 'nvt_langevin')
            batches[label] = (dict(cells), parameters, f'cells ({temperature:g} K)')
        return self.submit_temperatures(batches)

    def fit(self):
        """Fit the constants at each temperature and attach the results."""
        failed = self.failed_runs()
        if failed:
            return failed
        settings = {
            'runs': {
                label: {'temperature': self.ctx.temperatures[label], 'strains': self.ctx.strains[label]}
                for label in self.ctx.runs
            }
        }
        results = {label: node.outputs.results for label, node in self.ctx.runs.items()}
        outputs, node = fit_elastic_at_temperatures.run_get_node(
            orm.Dict(settings), **results, metadata={'call_link_label': 'fit'}
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_ANALYSIS_FAILED.format(message=describe_failure(node))
        by_temperature = outputs['results']['by_temperature']
        for label in outputs['results']['labels']:
            entry = by_temperature[label]
            constants = ', '.join(
                f'{k} = {entry[k]["value"]:.2f} ± {entry[k]["error"]:.2f}' for k in ('C11', 'C12', 'C44')
            )
            pressure = entry['reference_pressure']
            if not entry['mechanically_stable']:
                self.report(
                    f'{entry["temperature"]:g} K: {constants} GPa violate the Born stability conditions: no moduli '
                    '(a crystal near its instability, or runs too short for their noise)'
                )
                continue
            shear = entry['shear_modulus_vrh']
            self.report(
                f'{entry["temperature"]:g} K: {constants} GPa; G_VRH = {shear["value"]:.2f} ± {shear["error"]:.2f} '
                f'GPa; unstrained pressure {pressure["mean"]:+.3f} ± {pressure["sem"]:.3f} GPa'
            )
        self.attach(outputs)
        return None
