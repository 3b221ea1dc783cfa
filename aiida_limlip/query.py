"""Reanalysis helpers: answer common questions from the provenance graph, without recomputing anything."""

from __future__ import annotations

from aiida import orm

from .data.potential import PotentialData


def get_property_results(prop: str, potential: PotentialData | None = None) -> list[dict]:
    """Return the results of every successful property work chain of one kind, newest first.

    Parameters
    ----------
    prop
        A property of the registry ``aiida_limlip.workchains.properties.PROPERTIES``: ``eos``, ``elastic``,
        ``vacancy``, ``surfaces``, ``phonons``, ``errors`` (test-set errors), ``thermal_expansion``, ``elastic_t``,
        ``spes``, ``surface_diffusion`` or ``ehrlich_schwoebel``.
    potential
        Only results of this potential, or of any node with the same files (same ``sha256``); all potentials if
        ``None``. DFT results (pw.x) have no potential and are not returned.

    Returns
    -------
    list of dict
        ``workchain`` (pk), ``potential`` (pk), ``potential_label``, ``kind``, ``sha256``, ``formula`` (of the input
        structure, where there is one) and the quantities of the results output, with their ``units``.

    Raises
    ------
    ValueError
        For an unknown property.
    """
    from .workchains.properties import get_property

    entry = get_property(prop)
    query = orm.QueryBuilder()
    query.append(
        orm.WorkChainNode,
        tag='workchain',
        filters={'attributes.process_label': entry.process_label, 'attributes.exit_status': 0},
        project=['id', 'ctime'],
    )
    filters = {'attributes.sha256': potential.sha256} if potential is not None else {}
    query.append(
        PotentialData,
        with_outgoing='workchain',
        edge_filters={'label': 'evaluation__potential'},
        filters=filters,
        project=['id', 'label', 'attributes.kind', 'attributes.sha256'],
    )
    query.append(orm.Dict, with_incoming='workchain', edge_filters={'label': entry.results}, project=['attributes'])
    rows = []
    for pk, ctime, pot_pk, pot_label, kind, sha, results in query.all():
        node = orm.load_node(pk)
        structure = node.inputs.structure if 'structure' in node.inputs else None
        rows.append(
            {
                'workchain': pk,
                'ctime': ctime,
                'potential': pot_pk,
                'potential_label': pot_label,
                'kind': kind,
                'sha256': sha,
                'formula': structure.get_formula() if structure is not None else None,
                **results,
            }
        )
    return sorted(rows, key=lambda row: row['ctime'], reverse=True)


def get_eos_results(potential: PotentialData | None = None) -> list[dict]:
    """Return the results of every successful ``EquationOfStateWorkChain``, newest first.

    See :func:`get_property_results`; ``lattice_constant`` in Å, ``bulk_modulus`` in GPa, ...
    """
    return get_property_results('eos', potential)


def get_labelling_calculations(training_set) -> dict[str, orm.CalcJobNode]:
    """Return, for each frame of a labelled ``FrameSetData``, the pw.x calculation that computed its labels.

    Works for data sets made by ``LabellingWorkChain`` and for those derived from them by merge, filter or split: the
    frames carry the UUID of their calculation, and that calculation must be in this profile.

    Returns
    -------
    dict
        Frame key (``<index>:<label>``) to ``PwCalculation`` node; frames without a source (imported data) are absent.
    """
    calculations = {}
    for index, frame in enumerate(training_set.get_frames()):
        source = frame.info.get('source')
        if source:
            calculations[f'{index}:{frame.info.get("label", "")}'] = orm.load_node(source)
    return calculations


def finite_temperature_series(nodes: list[orm.WorkChainNode]) -> dict[str, dict[str, dict]]:
    """Return the data of Fig. 2 from finished finite-temperature work chains, by potential.

    Parameters
    ----------
    nodes
        ``ThermalExpansionWorkChain`` nodes (a(T), error bar: the standard deviation; temperatures where the box
        did not stay cubic are left out) and ``FiniteTemperatureElasticWorkChain`` nodes (C_ij and moduli, error
        bars: standard errors of the fits and propagated errors), of one or several potentials.

    Returns
    -------
    dict
        ``{potential label: {quantity: {'temperatures', 'values', 'errors'}}}``, the input of
        :func:`aiida_limlip.analysis.figure2.plot_figure2`.

    Raises
    ------
    ValueError
        For a node that is not a finished finite-temperature work chain.
    """
    from .analysis.figure2 import PANELS

    series: dict[str, dict[str, dict]] = {}
    for node in nodes:
        label = node.process_label
        if label not in ('ThermalExpansionWorkChain', 'FiniteTemperatureElasticWorkChain') or not node.is_finished_ok:
            raise ValueError(
                f'{label}<{node.pk}> is not a finished ThermalExpansionWorkChain or FiniteTemperatureElasticWorkChain'
            )
        potential = node.inputs.evaluation.potential
        entry = series.setdefault(potential.label or f'{potential.kind}<{potential.pk}>', {})
        if label == 'ThermalExpansionWorkChain':
            arrays = node.outputs.lattice_constants
            keep = arrays.get_array('cubic') if 'cubic' in arrays.get_arraynames() else None
            columns = [arrays.get_array(k) for k in ('temperatures', 'lattice_constant', 'lattice_constant_std')]
            if keep is not None:
                columns = [column[keep] for column in columns]
            entry['lattice_constant'] = {
                'temperatures': columns[0].tolist(),
                'values': columns[1].tolist(),
                'errors': columns[2].tolist(),
            }
            continue
        arrays = node.outputs.elastic_constants
        for quantity, _ in PANELS[1:]:
            entry[quantity] = {
                'temperatures': arrays.get_array('temperatures').tolist(),
                'values': arrays.get_array(quantity).tolist(),
                'errors': arrays.get_array(f'{quantity}_error').tolist(),
            }
    return series


#: The work chains of Fig. 3, by process label, and what each contributes.
SURFACE_KINETICS = {
    'AdsorptionEnergySurfaceWorkChain': 'spes',
    'SurfaceDiffusionWorkChain': 'diffusion',
    'EhrlichSchwoebelWorkChain': 'schwoebel',
}


def surface_kinetics_data(nodes: list[orm.WorkChainNode]) -> dict[str, list[dict]]:
    """Return the data of Fig. 3 from finished surface-kinetics work chains.

    Returns
    -------
    dict
        ``spes``: per node ``{'potential', 'pk', 'results'}``; ``diffusion``: the same plus ``bep`` (or None) and
        ``tracks`` (per facet tag and path index, the in-plane Cartesian positions of the adatom along the bands,
        Å); ``schwoebel``: per node ``{'potential', 'pk', 'results'}``. The input of
        :func:`aiida_limlip.analysis.figure3.plot_figure3`.

    Raises
    ------
    ValueError
        For a node that is not a finished surface-kinetics work chain.
    """
    data: dict[str, list[dict]] = {kind: [] for kind in SURFACE_KINETICS.values()}
    for node in nodes:
        kind = SURFACE_KINETICS.get(node.process_label)
        if kind is None or not node.is_finished_ok:
            raise ValueError(f'{node.process_label}<{node.pk}> is not a finished one of {", ".join(SURFACE_KINETICS)}')
        potential = node.inputs.evaluation.potential
        entry = {
            'potential': potential.label or f'{potential.kind}<{potential.pk}>',
            'pk': node.pk,
            'results': node.outputs.results.get_dict(),
        }
        if kind == 'diffusion':
            entry['bep'] = node.outputs.bep.get_dict() if 'bep' in node.outputs else None
            entry['tracks'] = _adatom_tracks(node, entry['results'])
        data[kind].append(entry)
    return data


def _adatom_tracks(node: orm.WorkChainNode, results: dict) -> dict[str, list[list[list[float]]]]:
    """Return, per facet tag, each path's adatom positions (x, y in Å) along its bands, leg after leg."""
    bands = {
        link.link_label: link.node
        for link in node.base.links.get_outgoing(node_class=orm.WorkChainNode).all()
        if link.link_label.startswith('bands_')
    }
    tracks: dict[str, list] = {}
    for tag, facet in results['facets'].items():
        tracks[tag] = []
        for path in facet['paths']:
            points: list[list[float]] = []
            for leg in path['legs']:
                band = bands[f'bands_{leg["name"]}']
                frames = band.outputs.frames.get_frames()
                points += [atoms.positions[-1, :2].tolist() for atoms in frames][1 if points else 0 :]
            tracks[tag].append(points)
    return tracks


def training_data_of(potential: PotentialData) -> orm.Data:
    """Return the ``FrameSetData`` a trained model was fitted to (the ``training_set`` of its training job).

    Raises
    ------
    ValueError
        If the potential was not made by a training job of this profile (a baseline such as SNAP).
    """
    creator = potential.creator
    if creator is None or 'training_set' not in creator.inputs:
        raise ValueError(f'PotentialData<{potential.pk}> was not trained here: it has no training set')
    return creator.inputs.training_set


def dft_calculations_of(potential: PotentialData) -> dict[str, orm.CalcJobNode]:
    """Return the pw.x calculations whose labels a trained model learnt, by frame (``<index>:<label>``)."""
    return get_labelling_calculations(training_data_of(potential))


def upstream_calculations(node: orm.Node, process_label: str = 'PwCalculation') -> dict[int, orm.CalcJobNode]:
    """Return the calculation jobs ``process_label`` among all ancestors of ``node`` (pk -> node).

    E.g. every pw.x run a Table 1 number rests on. A breadth-first walk over incoming links that visits each node
    once: QueryBuilder's ``with_descendants`` enumerates paths, and a campaign's graph (data sets merged iteration
    after iteration) has so many that the query ran for minutes without an answer.
    """
    found, seen, frontier = {}, {node.pk}, [node]
    while frontier:
        following = []
        for current in frontier:
            for link in current.base.links.get_incoming().all():
                parent = link.node
                if parent.pk in seen:
                    continue
                seen.add(parent.pk)
                following.append(parent)
                if isinstance(parent, orm.CalcJobNode) and parent.process_label == process_label:
                    found[parent.pk] = parent
        frontier = following
    return found


def active_learning_iterations(node: orm.WorkflowNode) -> list[dict]:
    """Return each iteration of an ``ActiveLearningWorkChain`` (or a campaign): record, data set, ensemble, errors.

    Returns
    -------
    list
        Per iteration, in order: ``record`` (its statistics Dict as a dict), ``dataset`` (FrameSetData after it),
        ``training`` (the TrainingWorkChain node of its ensemble), ``potentials`` (label -> PotentialData) and
        ``test_errors`` (the ensemble's summary as a dict).
    """
    node = _active_learning_node(node)
    records = node.outputs.iterations if 'iterations' in node.outputs else {}
    datasets = node.outputs.datasets if 'datasets' in node.outputs else {}
    trainings = {
        link.link_label.replace('train_iter_', 'iter_'): link.node
        for link in node.base.links.get_outgoing(link_label_filter='train_iter_%').all()
    }
    result = []
    for key in sorted(records):
        training = trainings.get(key)
        result.append(
            {
                'record': records[key].get_dict(),
                'dataset': datasets.get(key),
                'training': training,
                'potentials': dict(training.outputs.potentials)
                if training and 'potentials' in training.outputs
                else {},
                'test_errors': training.outputs.summary.get_dict()
                if training and 'summary' in training.outputs
                else {},
            }
        )
    return result


def properties_from_dataset(dataset: orm.Data) -> list[dict]:
    """Return every property result computed with a model trained on ``dataset`` (the exact node, not a copy).

    Returns
    -------
    list
        ``{'potential', 'process', 'results'}`` for each finished property work chain whose potential was trained on
        ``dataset``, newest first.
    """
    query = orm.QueryBuilder()
    query.append(orm.Data, filters={'id': dataset.pk}, tag='data')
    query.append(orm.CalcJobNode, with_incoming='data', edge_filters={'label': 'training_set'}, tag='job')
    query.append(PotentialData, with_incoming='job', tag='potential', project='*')
    query.append(
        orm.WorkChainNode,
        with_incoming='potential',
        edge_filters={'label': 'potential'},
        filters={'attributes.exit_status': 0},
        tag='process',
        project='*',
    )
    query.append(orm.Dict, with_incoming='process', edge_filters={'label': 'results'}, project='*')
    query.order_by({'process': {'ctime': 'desc'}})
    return [
        {'potential': potential, 'process': process, 'results': results.get_dict()}
        for potential, process, results in query.all()
    ]


def _active_learning_node(node: orm.WorkflowNode) -> orm.WorkflowNode:
    if node.process_label == 'ActiveLearningWorkChain':
        return node
    children = node.base.links.get_outgoing(link_label_filter='active_learning').all_nodes()
    if not children:
        raise ValueError(f'{node.process_label}<{node.pk}> ran no active learning')
    return children[0]


def campaign_progress(node: orm.WorkflowNode) -> dict:
    """Return how far a campaign (or an active-learning run) has come, read from the graph while it runs.

    Returns
    -------
    dict
        ``state``, ``elapsed`` (s), ``stages_done`` and ``stages_total``, ``current`` (the running stage),
        ``iterations`` (the finished active-learning records), ``training`` (summary per architecture) and
        ``table`` (the ensemble Table 1 as Markdown, once there).
    """
    import datetime

    state = node.process_state.value if node.process_state else 'created'
    end = node.mtime if node.is_terminated else datetime.datetime.now(datetime.timezone.utc)
    progress = {
        'state': state if node.exit_status is None else f'{state} [{node.exit_status}]',
        'elapsed': (end - node.ctime).total_seconds(),
        'iterations': [],
        'training': {},
        'table': None,
        'current': None,
    }
    from .workchains.campaign import FIGURE_STAGES

    if node.process_label == 'ActiveLearningWorkChain':
        stages, children = ['active_learning'], {'active_learning': [node]}
    else:
        stages = node.inputs.stages.get_list() if 'stages' in node.inputs else []
        children = {}
        for link in node.base.links.get_outgoing(node_class=orm.WorkflowNode).all():
            label = link.link_label
            # Table 1's early columns (DFT, baselines; `dft_column` in older graphs) start with the campaign but belong
            # to the benchmark stage.
            early = label in ('early_columns', 'dft_column')
            stage = 'training' if label.startswith('train_') else 'benchmark' if early else label
            for figure_stage, props in FIGURE_STAGES.items():
                if any(label.startswith(f'{prop}_') for prop in props):
                    stage = figure_stage
            children.setdefault(stage, []).append(link.node)
    if 'active_learning' in children:
        al = children['active_learning'][0]
        if 'iterations' in al.outputs:
            progress['iterations'] = [al.outputs.iterations[k].get_dict() for k in sorted(al.outputs.iterations)]
    if 'training' in node.outputs:
        progress['training'] = {name: summary.get_dict() for name, summary in node.outputs.training.items()}
    if 'table_ensemble' in node.outputs:
        progress['table'] = node.outputs.table_ensemble['markdown']
    started = [stage for stage in stages if stage in children]

    def finished(stage: str) -> bool:
        # A stage of several rounds (thermal expansion, then elastic constants) is done once the campaign moved on.
        later = started[started.index(stage) + 1 :]
        return all(child.is_terminated for child in children[stage]) and (node.is_terminated or bool(later))

    done = [stage for stage in started if finished(stage)]
    running = [stage for stage in started if not finished(stage)]
    progress['stages_total'] = len(stages)
    progress['stages_done'] = len(done)
    progress['current'] = running[0] if running else None
    return progress


def write_campaign_report(node: orm.WorkflowNode, directory) -> list:
    """Write Table 1 (Markdown and CSV), Figs. 1-3, learning curves, parity and the active-learning statistics plots.

    The ensembles' spread over Figs. 2-3 goes to ``figure2_ensemble.md`` and ``figure3_ensemble.md``. Everything
    comes from the nodes of ``node`` (a finished or running campaign); what does not exist yet is skipped. Returns
    the paths written.

    Raises
    ------
    ValueError
        If ``node`` is not a campaign or active-learning work chain.
    """
    import pathlib

    from .analysis.campaign_plots import plot_active_learning, plot_learning_curves, plot_parity

    if node.process_label not in ('CampaignWorkChain', 'ActiveLearningWorkChain'):
        raise ValueError(f'{node.process_label}<{node.pk}> is not a campaign or an active-learning run')
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for key, stem in (('table_ensemble', 'table1'), ('table', 'table1_per_model')):
        if key in node.outputs:
            table = node.outputs[key]
            for suffix, field in (('md', 'markdown'), ('csv', 'csv')):
                path = directory / f'{stem}.{suffix}'
                path.write_text(table[field])
                written.append(path)
    for stage, stem in (
        ('finite_temperature_ensemble', 'figure2_ensemble'),
        ('surface_kinetics_ensemble', 'figure3_ensemble'),
    ):
        if stage in node.outputs:
            path = directory / f'{stem}.md'
            path.write_text(node.outputs[stage]['markdown'] + '\n')
            written.append(path)
    if 'figure' in node.outputs:
        path = directory / 'figure1.png'
        path.write_bytes(node.outputs.figure.get_content(mode='rb'))
        written.append(path)
    try:
        iterations = active_learning_iterations(node)
    except ValueError:
        iterations = []
    if iterations:
        path = directory / 'active_learning.png'
        plot_active_learning([entry['record'] for entry in iterations], path)
        written.append(path)
    curves = {}
    trainings = (
        [
            link.node
            for link in node.base.links.get_outgoing(node_class=orm.WorkflowNode, link_label_filter='train_%').all()
        ]
        if node.process_label == 'CampaignWorkChain'
        else []
    )
    for training in trainings:
        if 'learning_curves' in training.outputs:
            for label, curve in training.outputs.learning_curves.items():
                curves[f'{training.inputs.architecture.value} {label}'] = {
                    name: curve.get_array(name) for name in curve.get_arraynames()
                }
    if curves:
        path = directory / 'learning_curves.png'
        plot_learning_curves(curves, path)
        written.append(path)
    pairs = {}
    for link in node.base.links.get_outgoing(node_class=orm.WorkflowNode, link_label_filter='benchmark').all():
        for error_link in link.node.base.links.get_outgoing(link_label_filter='errors_%').all():
            errors = error_link.node
            if errors.is_finished_ok and 'predictions' in errors.outputs:
                pairs[error_link.link_label[len('errors_') :]] = (
                    errors.inputs.test_set.get_frames(),
                    errors.outputs.predictions.get_frames(),
                )
    if pairs:
        path = directory / 'parity.png'
        plot_parity(pairs, path)
        written.append(path)
    written += _write_figure_stages(node, directory)
    return written


def _write_figure_stages(node: orm.WorkflowNode, directory) -> list:
    """Write Fig. 2 and Fig. 3 (PNG) from the campaign's finished finite-temperature and surface work chains."""
    from .analysis.figure2 import plot_figure2
    from .analysis.figure3 import plot_figure3
    from .workchains.campaign import FIGURE_STAGES

    written = []
    children = [
        link for link in node.base.links.get_outgoing(node_class=orm.WorkflowNode).all() if link.node.is_finished_ok
    ]
    for stage, name, collect, plot in (
        ('finite_temperature', 'figure2.png', finite_temperature_series, plot_figure2),
        ('surface_kinetics', 'figure3.png', surface_kinetics_data, plot_figure3),
    ):
        nodes = [
            link.node
            for link in children
            if any(link.link_label.startswith(f'{prop}_') for prop in FIGURE_STAGES[stage])
        ]
        if nodes:
            path = directory / name
            plot(collect(nodes), path)
            written.append(path)
    return written


#: What a CalcJob does in a campaign, by its process label.
JOB_KINDS = {
    'PwCalculation': 'labelling (pw.x)',
    'DeepmdTrainingCalculation': 'training',
    'NequipTrainingCalculation': 'training',
    'NequipCompileCalculation': 'training',
    'LammpsCalculation': 'MD',
    'RunnerCalculation': 'runner (ASE)',
}


def _covered(intervals: list[tuple[float, float]]) -> float:
    """Return the time covered by at least one of the intervals."""
    total, end = 0.0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total


def campaign_breakdown(node: orm.WorkflowNode) -> dict:
    """Return where a campaign's wall time went, by stage and by kind of job (s).

    A job's time runs from the creation of its CalcJob node to its last change (upload, the run, polling, retrieval
    and parsing). Per stage: ``wall`` (the stage's work chain from start to end), ``busy`` (time with at least one job
    running), ``overhead`` = wall - busy (AiiDA's own cost on the critical path: work-chain steps, calcfunctions,
    submission), and ``jobs``: the summed job time per kind (labelling, training, MD, runner), which exceeds ``busy``
    when jobs run side by side.
    """
    result: dict = {'wall': (node.mtime - node.ctime).total_seconds(), 'stages': {}}
    if node.process_label == 'ActiveLearningWorkChain':
        children = [('active_learning', node)]
    else:
        children = [
            ('training' if link.link_label.startswith('train_') else link.link_label, link.node)
            for link in node.base.links.get_outgoing(node_class=orm.WorkflowNode).all()
        ]
    stages: dict[str, dict] = {}
    for stage, child in children:
        entry = stages.setdefault(stage, {'start': [], 'stop': [], 'intervals': [], 'jobs': {}})
        entry['start'].append(child.ctime.timestamp())
        entry['stop'].append(child.mtime.timestamp())
        for descendant in child.called_descendants:
            if isinstance(descendant, orm.CalcJobNode):
                start, stop = descendant.ctime.timestamp(), descendant.mtime.timestamp()
                kind = JOB_KINDS.get(descendant.process_label, descendant.process_label)
                entry['jobs'][kind] = entry['jobs'].get(kind, 0.0) + stop - start
                entry['intervals'].append((start, stop))
    everything = []
    for stage, entry in stages.items():
        wall = max(entry['stop']) - min(entry['start'])
        busy = _covered(entry['intervals'])
        everything += entry['intervals']
        result['stages'][stage] = {
            'wall': wall,
            'busy': busy,
            'overhead': max(0.0, wall - busy),
            'jobs': {kind: round(seconds, 1) for kind, seconds in sorted(entry['jobs'].items())},
        }
    result['busy'] = _covered(everything)
    result['overhead'] = result['wall'] - result['busy']
    return result
