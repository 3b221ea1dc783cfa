"""The paper's Fig. 2 (no AiiDA): lattice constant and elastic properties against temperature, per potential.

The data of one potential is a mapping ``{quantity: {'temperatures': [...], 'values': [...], 'errors': [...]}}``
with quantities from :data:`PANELS`; any may be missing. Errors are the paper's error bars: the standard deviation of
a(T), the standard errors of the fitted C_ij and the errors propagated from them.
"""

from __future__ import annotations

import csv
import io
import pathlib
from collections.abc import Mapping

from .thermal import EXPERIMENTAL_LATTICE_CONSTANTS

#: Panels of the figure: quantity, axis label.
PANELS = (
    ('lattice_constant', 'a (Å)'),
    ('C11', 'C11 (GPa)'),
    ('C12', 'C12 (GPa)'),
    ('C44', 'C44 (GPa)'),
    ('zener_anisotropy', 'Zener anisotropy 2C44/(C11-C12)'),
    ('bulk_modulus_vrh', 'K_VRH (GPa)'),
    ('shear_modulus_vrh', 'G_VRH (GPa)'),
    ('youngs_modulus', "Young's modulus (GPa)"),
    ('poisson_ratio', 'Poisson ratio'),
)

#: Measured single-crystal elastic constants (GPa) of Li against T: (T in K, {constant: (value, error)}, source).
#: Beg and Nielsen derived them from their neutron phonon dispersions at 293 K. The ultrasonic data of Slotwinski
#: and Trivisonno (1969), which the paper plots, could not be read from here, so they are not shown (docs say so).
EXPERIMENTAL_ELASTIC_CONSTANTS = (
    (
        293.0,
        {'C11': (17.3, 1.0), 'C12': (13.1, 2.0), 'C44': (8.4, 0.6)},
        'Beg and Nielsen, Phys. Rev. B 14, 4266 (1976), from phonon dispersions',
    ),
)


def experimental_points(quantity: str) -> list[tuple[float, float, float | None, str]]:
    """Return the measured ``(T, value, error, source)`` of a quantity of the figure."""
    if quantity == 'lattice_constant':
        return [tuple(point) for point in EXPERIMENTAL_LATTICE_CONSTANTS]
    return [
        (temperature, *values[quantity], source)
        for temperature, values, source in EXPERIMENTAL_ELASTIC_CONSTANTS
        if quantity in values
    ]


def to_csv(data: Mapping[str, Mapping[str, Mapping]]) -> str:
    """Return the figure's data as CSV, the measured points under the potential ``experiment``.

    Columns: potential, quantity, temperature (K), value, error (units as the panels), source.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(['potential', 'quantity', 'temperature_K', 'value', 'error', 'source'])
    for potential, series in data.items():
        for quantity, _ in PANELS:
            if quantity not in series:
                continue
            entry = series[quantity]
            for t, v, e in zip(entry['temperatures'], entry['values'], entry['errors'], strict=True):
                writer.writerow([potential, quantity, f'{t:g}', _number(v), _number(e), ''])
    for quantity, _ in PANELS:
        for t, v, e, source in experimental_points(quantity):
            writer.writerow(['experiment', quantity, f'{t:g}', _number(v), _number(e), source])
    return buffer.getvalue()


def _number(value) -> str:
    return '' if value is None or value != value else f'{value:.6g}'


def plot_figure2(data: Mapping[str, Mapping[str, Mapping]], path: str | pathlib.Path) -> pathlib.Path:
    """Draw the nine panels of Fig. 2 (a(T), C11, C12, C44, Zener anisotropy, K, G, E, nu against T) as a PNG.

    Each potential is one colour with error bars; measured points are black squares (sources in the docs).
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(3, 3, figsize=(12, 10), sharex=True)
    colours = plt.rcParams['axes.prop_cycle'].by_key()['color']
    for axis, (quantity, label) in zip(axes.flat, PANELS, strict=True):
        for index, (potential, series) in enumerate(data.items()):
            if quantity not in series:
                continue
            entry = series[quantity]
            errors = [0.0 if e is None or e != e else e for e in entry['errors']]
            axis.errorbar(
                entry['temperatures'],
                entry['values'],
                yerr=errors,
                marker='o',
                capsize=3,
                color=colours[index % len(colours)],
                label=potential,
            )
        points = experimental_points(quantity)
        if points:
            axis.errorbar(
                [p[0] for p in points],
                [p[1] for p in points],
                yerr=[p[2] or 0.0 for p in points],
                fmt='s',
                color='black',
                capsize=3,
                label='experiment',
            )
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    for axis in axes[-1]:
        axis.set_xlabel('T (K)')
    handles, labels = [], []
    for axis in axes.flat:
        for handle, name in zip(*axis.get_legend_handles_labels(), strict=True):
            if name not in labels:
                handles.append(handle)
                labels.append(name)
    figure.legend(handles, labels, loc='upper center', ncol=len(labels), frameon=False)
    figure.tight_layout(rect=(0, 0, 1, 0.96))
    path = pathlib.Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
