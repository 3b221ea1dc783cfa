"""Calcfunctions of active learning: select the frames to label, and record an iteration's statistics."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from ..analysis.active_learning import SLAB_CLASSES, SelectionSettings, select, supercell_repeats
from ..data.frame_set import FrameSetData


@calcfunction
def exploration_cells(min_atoms: orm.Int, classes: orm.Dict, **seeds: orm.StructureData) -> dict:
    """Return each seed repeated to at least ``min_atoms`` atoms (in plane for slabs) with its ``config_class``.

    ``classes`` maps the seed labels to their configuration classes.
    """
    cells = {}
    for label, seed in seeds.items():
        config_class = classes[label]
        atoms = seed.get_ase()
        repeats = supercell_repeats(atoms.cell.lengths(), len(atoms), min_atoms.value, config_class in SLAB_CLASSES)
        cell = orm.StructureData(ase=atoms.repeat(repeats))
        cell.base.attributes.set('config_class', config_class)
        cells[label] = cell
    return cells


@calcfunction
def select_candidates(selection: orm.Dict, runs: orm.Dict, **arrays: orm.Data) -> dict:
    """Classify every explored frame by its model deviation and pick the candidates to label.

    Parameters
    ----------
    selection
        ``SelectionSettings``: trust_lo and trust_hi (eV/Å on max_devi_f), max_candidates, seed, accurate_threshold.
    runs
        Run key to ``{config_class, temperature (K), pressure (GPa or None), seed_label}``.
    arrays
        ``trajectory_<key>`` (TrajectoryData of the sampled frames) and ``deviation_<key>`` (ArrayData with
        ``max_devi_f``) of every run.

    Returns
    -------
    dict
        ``statistics`` (Dict: counts and accurate fractions overall, per class and per condition, the maximum
        force deviation of each run's frames) and one ``candidate_<key>_f<NNN>`` StructureData per chosen frame,
        with its ``config_class`` as an attribute (what the labelling reads).
    """
    settings = SelectionSettings.from_dict(selection.get_dict())
    records, frames = [], []
    deviations = {}
    for key, run in sorted(runs.get_dict().items()):
        trajectory, deviation = arrays[f'trajectory_{key}'], arrays[f'deviation_{key}']
        # Match frames and deviations by MD step: a run stopped by its temperature guard may have written the
        # deviation of a step whose frame it did not keep.
        by_step = dict(
            zip(deviation.get_array('step').tolist(), deviation.get_array('max_devi_f').tolist(), strict=True)
        )
        values = []
        for index, step in enumerate(trajectory.get_stepids().tolist()):
            # Step 0 is the start: a seed, labelled already (in the training or the test set), not an exploration.
            if step in by_step and step > 0:
                values.append(float(by_step[step]))
                records.append({**run, 'max_devi_f': float(by_step[step])})
                frames.append((key, index, trajectory))
        deviations[key] = values
    chosen, statistics = select(records, settings)
    statistics['max_devi_f'] = deviations
    outputs: dict = {'statistics': orm.Dict(statistics)}
    for position in chosen:
        key, index, trajectory = frames[position]
        structure = trajectory.get_step_structure(index)
        structure.base.attributes.set('config_class', records[position]['config_class'])
        outputs[f'candidate_{key}_f{index:03d}'] = structure
    return outputs


@calcfunction
def summarize_iteration(
    iteration: orm.Int,
    selection: orm.Dict,
    training: orm.Dict,
    dataset: FrameSetData,
    failures: orm.Dict,
    **labelled: FrameSetData,
) -> orm.Dict:
    """Return one iteration's record: exploration counts, the ensemble's test errors and the labels added.

    ``training`` is the ``summary`` of the ensemble's ``TrainingWorkChain`` (test RMSEs in meV/atom, meV/Å, GPa),
    ``dataset`` the training data the ensemble learnt, ``failures`` the candidates whose SCF failed (label ->
    reason), ``labelled`` the new DFT frames (none if nothing was labelled).
    """
    statistics = selection.get_dict()
    added = sum(frames.num_frames for frames in labelled.values())
    return orm.Dict(
        {
            'iteration': iteration.value,
            'exploration': {key: statistics[key] for key in ('overall', 'classes', 'conditions')},
            'candidates_found': statistics['candidates_found'],
            'candidates_chosen': statistics['candidates_chosen'],
            'labels_added': added,
            'labels_failed': failures.get_dict(),
            'training_frames': dataset.num_frames,
            'test_errors': {key: training.get(f'{key}_rmse_mean') for key in ('energy', 'forces', 'stress')},
            'test_errors_units': {'energy': 'meV/atom', 'forces': 'meV/Å', 'stress': 'GPa'},
            'converged': statistics['converged'],
            'stop_reason': statistics['stop_reason'],
        }
    )


@calcfunction
def summarize_loop(stop_reason: orm.Str, **iterations: orm.Dict) -> orm.Dict:
    """Return the loop's summary: iterations run, why it stopped, the learning curve of the loop and each record."""
    records = [iterations[key].get_dict() for key in sorted(iterations)]
    return orm.Dict(
        {
            'num_iterations': len(records),
            'stop_reason': stop_reason.value,
            'accurate_fraction': [r['exploration']['overall']['accurate_fraction'] for r in records],
            'median_max_devi_f': [r['exploration']['overall'].get('median_max_devi_f') for r in records],
            'forces_rmse': [r['test_errors']['forces'] for r in records],
            'energy_rmse': [r['test_errors']['energy'] for r in records],
            'labels_added': [r['labels_added'] for r in records],
            'training_frames': [r['training_frames'] for r in records],
            'iterations': records,
        }
    )
