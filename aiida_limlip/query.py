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
