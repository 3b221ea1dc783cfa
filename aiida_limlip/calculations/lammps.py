"""``LammpsCalculation``: the runner's ``md`` task run by LAMMPS, for potentials with a LAMMPS pair style.

Why our own CalcJob rather than aiida-lammps (1.0.2), which the design first named: its ``LammpsBaseCalculation``
takes one potential file (``LammpsPotentialData`` is a ``SinglefileData``) while SNAP needs two (coefficients and
parameters) and MEAM a library and a parameter file, and its pair styles do not include ``deepmd``. Its
``LammpsRawCalculation`` runs any script, but then the script, the potential's files (as ``SinglefileData`` copies of
our ``PotentialData``), the parser (its own reads only the log) and the exit codes (none for lost atoms, blow-ups or
wall time) would all be ours anyway, and the package pins ``jsonschema`` to 3.2. This job takes the same inputs as
``RunnerCalculation`` and gives the same outputs, so the engine is a choice, not a different interface.
"""

from __future__ import annotations

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from ..data.potential import PotentialData
from ..engines import lammps
from ..runner import files
from ..runner.tasks import get_task
from .common import (
    define_evaluation_exit_codes,
    define_evaluation_outputs,
    define_velocities_input,
    ensemble_error,
    species_error,
    validate_task_inputs,
    velocities_error,
)


def validate_inputs(inputs: dict, ctx) -> str | None:
    """Check the code, one structure, the ``md`` task, a potential LAMMPS can run and an ensemble it can deviate."""
    if any(key not in ctx for key in ('task', 'structures', 'potential')):
        return None
    code = inputs.get('code')
    if code is not None and code.default_calc_job_plugin not in (None, 'limlip.lammps'):
        return f'code `{code.full_label}` is set up for `{code.default_calc_job_plugin}`, not for `limlip.lammps`'
    if inputs['task'].value != 'md':
        return (
            f'LAMMPS runs the task `md` only, not {inputs["task"].value!r}; use the ase engine (limlip-runner) for it'
        )
    structures = inputs.get('structures') or {}
    if len(structures) != 1:
        return f'a LAMMPS job runs one structure; got {len(structures)}'
    potential = inputs['potential']
    if not potential.has_lammps_pair_style:
        return f'the potential (kind {potential.kind}) has no LAMMPS pair style; use the ase engine (limlip-runner)'
    ensemble = inputs.get('ensemble') or {}
    if ensemble and (potential.kind != 'deepmd' or any(model.kind != 'deepmd' for model in ensemble.values())):
        return 'LAMMPS computes the model deviation of DeePMD ensembles only; use the ase engine for other ensembles'
    ((label, structure),) = structures.items()
    parameters = inputs['parameters'].get_dict() if 'parameters' in inputs else {}
    if ensemble and not parameters.get('frame_interval'):
        return 'an ensemble needs frame_interval > 0: the model deviation is written for the sampled frames'
    if parameters.get('constraints'):
        return 'the LAMMPS engine runs without constraints; use the ase engine for constrained MD'
    return (
        species_error(structure.get_symbols_set(), potential, f'structure `{label}`')
        or ensemble_error(potential, ensemble)
        or velocities_error(structures, inputs.get('velocities') or {})
        or validate_task_inputs(inputs, structures)
    )


class LammpsCalculation(CalcJob):
    """Run the ``md`` task (NVE, NVT Langevin or Nose-Hoover chain, NPT with an orthorhombic box) in LAMMPS.

    One structure per job (MD runs are long: several structures run as several jobs at once). Restart files are
    written every 100 thermo records and stay in the remote folder.
    """

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.input('potential', valid_type=PotentialData, help='The potential: SNAP, MEAM, DeePMD or any LAMMPS style.')
        spec.input_namespace(
            'ensemble',
            valid_type=PotentialData,
            dynamic=True,
            required=False,
            help='Further DeePMD models: `pair_style deepmd` writes the model deviation of the sampled frames.',
        )
        spec.input_namespace(
            'structures', valid_type=orm.StructureData, dynamic=True, help='The one structure to run (Å), by label.'
        )
        spec.input('task', valid_type=orm.Str, default=lambda: orm.Str('md'), help='The runner task: `md`.')
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            required=False,
            help='Parameters of the runner task `md` (K, fs, GPa); see `aiida_limlip.runner.md.PARAMETERS`.',
        )
        define_velocities_input(spec)
        spec.inputs.validator = validate_inputs
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['parser_name'].default = 'limlip.lammps'
        spec.inputs['metadata']['options']['input_filename'].default = lammps.SCRIPT_FILE
        spec.inputs['metadata']['options']['output_filename'].default = lammps.STDOUT_FILE
        spec.inputs['metadata']['options']['withmpi'].default = False
        define_evaluation_outputs(spec)
        define_evaluation_exit_codes(spec)

    def prepare_for_submission(self, folder):
        """Write the data file and the input script; copy the potential's (and the ensemble's) files."""
        (label,) = self.inputs.structures
        parameters = get_task('md').validate(self.inputs.parameters.get_dict() if 'parameters' in self.inputs else {})
        ensemble = [self.inputs.ensemble[key] for key in sorted(self.inputs.get('ensemble', {}))]
        velocities = self.inputs.get('velocities', {})
        directories = [files.ensemble_dir(index) for index in range(len(ensemble))]
        job = lammps.write_input(
            self.inputs.structures[label].get_ase(),
            self.inputs.potential.to_runner_spec(),
            parameters,
            [model.to_runner_spec() for model in ensemble],
            files.POTENTIAL_DIR,
            directories,
            self.inputs.metadata.options.get('max_wallclock_seconds'),
            velocities[label].get_array('velocities') if label in velocities else None,
        )
        with folder.open(lammps.SCRIPT_FILE, 'w') as handle:
            handle.write(job.script)
        with folder.open(lammps.DATA_FILE, 'w') as handle:
            handle.write(job.data)
        local_copy_list = self.inputs.potential.local_copy_list(files.POTENTIAL_DIR)
        folder.get_subfolder(files.POTENTIAL_DIR, create=True)
        for model, directory in zip(ensemble, directories, strict=True):
            local_copy_list += model.local_copy_list(directory)
            folder.get_subfolder(directory, create=True)

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['-in', lammps.SCRIPT_FILE]
        codeinfo.stdout_name = lammps.STDOUT_FILE

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = local_copy_list
        calcinfo.retrieve_list = [
            lammps.STDOUT_FILE,
            lammps.THERMO_FILE,
            lammps.SAMPLES_FILE,
            lammps.DUMP_FILE,
            lammps.FINAL_DUMP_FILE,
            lammps.FINAL_FILE,
            lammps.FINAL_VELOCITIES_FILE,
            lammps.DEVIATION_FILE,
        ]
        return calcinfo
