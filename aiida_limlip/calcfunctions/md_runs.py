"""One MD run made of consecutive jobs (a run continued after its job ran out of wall time) joined into one record."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..runner.md import join_records, thermo_averages
from ..utils import finite_or_none


def _part(nodes: dict, kind: str) -> list:
    return [nodes[key] for key in sorted(nodes) if key.startswith(f'{kind}_')]


def _offsets(nodes: dict, kind: str, offsets: list[int]) -> list[int]:
    """Return the step offsets of the parts that have a ``kind`` node (a part may have written no samples)."""
    return [offsets[int(key.rsplit('_', 1)[1])] for key in sorted(nodes) if key.startswith(f'{kind}_')]


def _trajectory_record(node: orm.TrajectoryData) -> dict:
    record = {'step': node.get_stepids(), 'positions': node.get_positions(), 'cells': node.get_cells()}
    for name in ('energies', 'forces', 'stresses', 'temperatures'):
        if name in node.get_arraynames():
            record[name] = node.get_array(name)
    return record


@calcfunction
def join_md_runs(label: orm.Str, parameters: orm.Dict, **nodes) -> dict:
    """Return the results, thermo record, sampled frames and model deviation of one MD run made of several jobs.

    ``parameters``: the ``md`` parameters of the whole run (validated). ``nodes``: for each part ``NN`` in order,
    ``results_NN`` (the job's results), ``thermo_NN`` and, where the jobs wrote them, ``trajectory_NN`` and
    ``deviation_NN``. Steps and times continue across the parts; the averages are those of the whole run, from the
    end of its ramp and equilibration.
    """
    label, parameters = label.value, parameters.get_dict()
    timestep = parameters['timestep']
    results = [node.get_dict() for node in _part(nodes, 'results')]
    items = [content['items'][label] for content in results]
    offsets = list(np.cumsum([0] + [item['steps_completed'] for item in items[:-1]]))
    done = int(offsets[-1] + items[-1]['steps_completed'])
    ramp = parameters['ramp_steps']

    thermo = join_records([dict(node.get_iterarrays()) for node in _part(nodes, 'thermo')], offsets)
    thermo['time'] = thermo['step'] * timestep / 1000.0
    thermo_node = orm.ArrayData()
    for key, values in thermo.items():
        thermo_node.set_array(key, values)
    thermo_node.base.attributes.set('units', _part(nodes, 'thermo')[0].base.attributes.get('units', {}))

    item = {
        **items[-1],
        'steps_completed': done,
        'production_steps': max(0, done - ramp),
        'max_temperature': items[0].get('max_temperature'),
        'averages': thermo_averages(thermo, ramp + parameters['equilibration_steps']),
        'jobs': len(items),
    }
    merged = {
        **results[-1],
        'items': {label: item},
        'wall_time': sum(content.get('wall_time') or 0.0 for content in results),
    }
    if results[0].get('started'):
        merged['started'] = results[0]['started']
    outputs = {'results': orm.Dict(finite_or_none(merged)), 'thermo': thermo_node}

    trajectories = _part(nodes, 'trajectory')
    if trajectories:
        record = join_records(
            [_trajectory_record(node) for node in trajectories], _offsets(nodes, 'trajectory', offsets)
        )
        trajectory = orm.TrajectoryData()
        trajectory.set_trajectory(
            symbols=trajectories[0].symbols,
            positions=record['positions'],
            stepids=record['step'],
            cells=record['cells'],
            times=record['step'] * timestep / 1000.0,
            pbc=list(trajectories[0].pbc),
        )
        for name in ('energies', 'forces', 'stresses', 'temperatures'):
            if name in record:
                trajectory.set_array(name, record[name])
        trajectory.base.attributes.set('units', trajectories[0].base.attributes.get('units', {}))
        outputs['trajectory'] = trajectory

    deviations = _part(nodes, 'deviation')
    if deviations:
        record = join_records(
            [dict(node.get_iterarrays()) for node in deviations], _offsets(nodes, 'deviation', offsets)
        )
        deviation = orm.ArrayData()
        for key, values in record.items():
            deviation.set_array(key, values)
        deviation.base.attributes.set('units', deviations[0].base.attributes.get('units', {}))
        outputs['model_deviation'] = deviation
    return outputs
