"""Property work chains, and the one registry of properties that the benchmark, the tables and the queries read.

Each work chain generates structures, asks for one kind of evaluation (``PropertyWorkChain._evaluation_task``) and
analyses the frames in a calcfunction. Adding a property means: a structure generator and an analysis function
(``analysis/``), their calcfunctions, a thin work chain on :class:`~.base.PropertyWorkChain`, a protocol file, an
entry point, and an entry in :data:`PROPERTIES` below (with its Table 1 rows in ``analysis.tables``, if any).
"""

from __future__ import annotations

from dataclasses import dataclass

from aiida.plugins import WorkflowFactory


@dataclass(frozen=True)
class Property:
    """A property of the registry.

    ``results`` is the output the table and the query helpers read; ``figure`` the further outputs Fig. 1 reads
    (keyed by their output name in ``assemble_benchmark``).
    """

    name: str
    entry_point: str
    results: str = 'results'
    figure: tuple[str, ...] = ()

    @property
    def process_class(self):
        """Return the work chain class."""
        return WorkflowFactory(self.entry_point)

    @property
    def process_label(self) -> str:
        """Return the process label of the work chain's nodes."""
        return self.process_class.__name__


#: Every property, by its short name. ``errors`` are the test-set errors (Table 1's RMSE rows).
PROPERTIES: dict[str, Property] = {
    entry.name: entry
    for entry in (
        Property('eos', 'limlip.eos'),
        Property('elastic', 'limlip.elastic'),
        Property('vacancy', 'limlip.vacancy'),
        Property('surfaces', 'limlip.surfaces', figure=('wulff',)),
        Property('phonons', 'limlip.phonons', figure=('phonon_data',)),
        Property('errors', 'limlip.prediction_errors', results='errors'),
        Property('thermal_expansion', 'limlip.thermal_expansion'),
        Property('elastic_t', 'limlip.elastic_t'),
        Property('spes', 'limlip.spes'),
        Property('surface_diffusion', 'limlip.surface_diffusion'),
        Property('ehrlich_schwoebel', 'limlip.ehrlich_schwoebel'),
    )
}


def get_property(name: str) -> Property:
    """Return the registry entry ``name``.

    Raises
    ------
    ValueError
        For an unknown property.
    """
    try:
        return PROPERTIES[name]
    except KeyError:
        raise ValueError(f'unknown property {name!r}; choose from {", ".join(PROPERTIES)}') from None
