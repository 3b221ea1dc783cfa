"""``ConvergenceWorkChain``: the cheapest cutoff and k-spacing within an energy tolerance, as the paper did."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain
from aiida.plugins import WorkflowFactory

from ..calcfunctions.convergence import analyse_convergence
from ..protocols import ProtocolMixin
from .common import FreshCodeMixin, describe_failure, load_code
from .dft import build_pw_base_inputs, load_pseudo_family
from .labelling import LabellingWorkChain

PwBaseWorkChain = WorkflowFactory('quantumespresso.pw.base')


class ConvergenceWorkChain(FreshCodeMixin, ProtocolMixin, WorkChain):
    """Sweep the plane-wave cutoff and the k-spacing on one structure; report the cheapest converged settings."""

    _protocol_file = 'convergence.yaml'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The structure to converge on (Å).')
        spec.input('code', valid_type=orm.AbstractCode, help='The pw.x code.')
        spec.input('pseudo_family', valid_type=orm.Str, help='Label of the pseudopotential family.')
        spec.input('parameters', valid_type=orm.Dict, help='Base pw.x namelists (cutoffs are set by the sweep).')
        spec.input('cutoffs', valid_type=orm.List, help='Wavefunction cutoffs to try (Ry).')
        spec.input('dual', valid_type=orm.Float, default=lambda: orm.Float(4.0), help='ecutrho / ecutwfc.')
        spec.input('kpoints_spacings', valid_type=orm.List, help='k-point spacings to try (1/Å, 2*pi not included).')
        spec.input('tolerance', valid_type=orm.Float, default=lambda: orm.Float(1e-3), help='Tolerance (eV/atom).')
        spec.input('options', valid_type=orm.Dict, required=False, help='Scheduler options of every pw.x job.')
        spec.inputs.validator = cls.validate_inputs
        spec.outline(cls.run_sweeps, cls.analyse)
        spec.output('results', valid_type=orm.Dict, help='Converged settings and all energies per atom, with units.')
        spec.output(
            'overrides',
            valid_type=orm.Dict,
            help='The converged settings as overrides for LabellingWorkChain.get_builder_from_protocol.',
        )
        spec.exit_code(401, 'ERROR_SCF_FAILED', message='SCF(s) of the sweep failed: {labels}')

    @staticmethod
    def validate_inputs(inputs: dict, _) -> str | None:
        """Check the sweeps before anything runs."""
        if len(inputs['cutoffs'].get_list()) < 2 or len(inputs['kpoints_spacings'].get_list()) < 2:
            return 'cutoffs and kpoints_spacings need at least two values each'
        if min(inputs['cutoffs'].get_list()) <= 0 or min(inputs['kpoints_spacings'].get_list()) <= 0:
            return 'cutoffs and kpoints_spacings must be positive'
        try:
            load_pseudo_family(inputs['pseudo_family'].value)
        except ValueError as exception:
            return str(exception)
        return None

    @classmethod
    def get_builder_from_protocol(
        cls, code: orm.AbstractCode | str, structure: orm.StructureData, protocol: str | None = None, overrides=None
    ):
        """Return a builder from a protocol; pw.x settings come from the labelling protocol of the same name."""
        code = load_code(code, 'quantumespresso.pw')
        inputs = cls.get_protocol_inputs(protocol, overrides)
        labelling = LabellingWorkChain.get_protocol_inputs(protocol or cls.get_default_protocol())
        builder = cls.get_builder()
        builder.structure = structure
        builder.code = code
        builder.pseudo_family = orm.Str(inputs.get('pseudo_family', labelling['pseudo_family']))
        builder.parameters = orm.Dict(inputs.get('parameters', labelling['parameters']))
        builder.cutoffs = orm.List(inputs['cutoffs'])
        builder.dual = orm.Float(inputs['dual'])
        builder.kpoints_spacings = orm.List(inputs['kpoints_spacings'])
        builder.tolerance = orm.Float(inputs['tolerance'])
        builder.options = orm.Dict(inputs.get('options', labelling.get('options', {})))
        return builder

    def run_sweeps(self):
        """Submit both series at once."""
        family = load_pseudo_family(self.inputs.pseudo_family.value)
        base = self.inputs.parameters.get_dict()
        cutoffs = self.inputs.cutoffs.get_list()
        spacings = self.inputs.kpoints_spacings.get_list()
        options = self.inputs.options.get_dict() if 'options' in self.inputs else {}
        dual = self.inputs.dual.value

        def with_cutoff(cutoff: float) -> dict:
            return {**base, 'SYSTEM': {**base.get('SYSTEM', {}), 'ecutwfc': cutoff, 'ecutrho': cutoff * dual}}

        jobs = {f'cutoff_{i}': (with_cutoff(cutoff), min(spacings)) for i, cutoff in enumerate(cutoffs)}
        jobs.update({f'kspacing_{i}': (with_cutoff(max(cutoffs)), k) for i, k in enumerate(spacings)})
        nodes = {}
        for key, (parameters, spacing) in jobs.items():
            inputs = build_pw_base_inputs(self.inputs.code, self.inputs.structure, family, parameters, spacing, options)
            inputs['metadata'] = {'call_link_label': key}
            nodes[key] = self.submit(PwBaseWorkChain, **inputs)
        self.report(
            f'submitted {len(cutoffs)} cutoffs ({min(cutoffs)}-{max(cutoffs)} Ry) and {len(spacings)} '
            f'k-spacings ({max(spacings)}-{min(spacings)} 1/Å)'
        )
        return ToContext(**{f'scf.{key}': node for key, node in nodes.items()})

    def analyse(self):
        """Find the converged settings."""
        failed = [key for key, node in self.ctx.scf.items() if not node.is_finished_ok]
        if failed:
            for key in failed:
                self.report(f'{key}: {describe_failure(self.ctx.scf[key])}')
            return self.exit_codes.ERROR_SCF_FAILED.format(labels=', '.join(failed))
        settings = {
            'cutoffs': self.inputs.cutoffs.get_list(),
            'kpoints_spacings': self.inputs.kpoints_spacings.get_list(),
            'dual': self.inputs.dual.value,
            'tolerance': self.inputs.tolerance.value,
            'natoms': len(self.inputs.structure.sites),
        }
        outputs = analyse_convergence(
            orm.Dict(settings),
            **{key: node.outputs.output_parameters for key, node in self.ctx.scf.items()},
            metadata={'call_link_label': 'analyse'},
        )
        results = outputs['results']
        self.report(
            f'converged to {results["tolerance"] * 1000:.1f} meV/atom: ecutwfc = {results["ecutwfc"]} Ry, '
            f'k-spacing = {results["kpoints_spacing"]} 1/Å'
        )
        self.out('results', results)
        self.out('overrides', outputs['overrides'])
        return None
