"""The paper's Fig. 3 (no AiiDA): SPES maps with the minimum-barrier path, the BEP relation, step-down profiles."""

from __future__ import annotations

import pathlib
from collections.abc import Mapping, Sequence

import numpy as np


def _tiled(facet: Mapping, tiles: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return x, y (Å, from the facet's origin) and relative E_ads (eV) of the grid over tiles x tiles cells."""
    unit = np.asarray(facet['unit_cell'], dtype=float)[:, :2]
    sites = np.asarray(facet['sites'], dtype=float)
    values = np.asarray(facet['relative'], dtype=float).ravel()
    points, energies = [], []
    for i in range(-1, tiles + 1):
        for j in range(-1, tiles + 1):
            points.append((sites + (i, j)) @ unit)
            energies.append(values)
    return np.concatenate(points)[:, 0], np.concatenate(points)[:, 1], np.concatenate(energies)


def plot_spes(axis, facet: Mapping, track: Sequence[Sequence[float]] | None = None, tiles: int = 2):
    """Draw one facet's relative E_ads over ``tiles`` x ``tiles`` unit cells, its minima and the adatom's path."""
    from matplotlib.tri import Triangulation

    unit = np.asarray(facet['unit_cell'], dtype=float)[:, :2]
    x, y, energies = _tiled(facet, tiles)
    corners = np.array([[0, 0], [tiles, 0], [tiles, tiles], [0, tiles], [0, 0]]) @ unit
    contour = axis.tricontourf(Triangulation(x, y), energies, levels=20, cmap='viridis')
    axis.plot(corners[:, 0], corners[:, 1], color='white', linewidth=0.8)
    for minimum in facet['minima']:
        for i in range(tiles):
            for j in range(tiles):
                position = (np.asarray(minimum['site']) + (i, j)) @ unit
                axis.plot(*position, marker='o', color='red', markersize=4)
    if track:
        origin = np.asarray(facet['origin'], dtype=float)
        site = np.asarray(facet['minima'][0]['site'], dtype=float)
        start = (site + (site < 0.25)) @ unit  # off the edge of the map
        points = np.asarray(track, dtype=float) - origin
        points = points - points[0] + start
        axis.plot(points[:, 0], points[:, 1], color='white', marker='.', linewidth=1.5)
    axis.set_xlim(corners[:, 0].min(), corners[:, 0].max())
    axis.set_ylim(corners[:, 1].min(), corners[:, 1].max())
    axis.set_aspect('equal')
    axis.set_title(f'({facet["facet"]})')
    axis.set_xlabel('x (Å)')
    return contour


def plot_figure3(data: Mapping[str, list[dict]], path: str | pathlib.Path) -> pathlib.Path:
    """Draw Fig. 3 as a PNG: a) the SPES maps, b) the BEP relation, c) the step-down energy profiles.

    ``data`` is :func:`aiida_limlip.query.surface_kinetics_data`'s. Panels without data are left out.
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    maps = []
    tracks = {}
    for entry in data.get('diffusion', []):
        for tag, facet in entry['results']['facets'].items():
            tracks[(entry['potential'], tag)] = entry['tracks'][tag][facet['minimum_path']]
    for entry in data.get('spes', []):
        for tag, facet in entry['results']['facets'].items():
            maps.append((entry['potential'], tag, facet))
    lower = [kind for kind in ('diffusion', 'schwoebel') if data.get(kind)]
    columns = max(len(maps), len(lower), 1)
    rows = int(bool(maps)) + int(bool(lower))
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 3.4 * rows), squeeze=False)
    for axis in axes.flat:
        axis.set_visible(False)
    if maps:
        for axis, (potential, tag, facet) in zip(axes[0], maps, strict=False):
            axis.set_visible(True)
            contour = plot_spes(axis, facet, tracks.get((potential, tag)))
            axis.set_title(f'{potential} ({facet["facet"]})', fontsize=9)
            figure.colorbar(contour, ax=axis, label='relative E_ads (eV)', shrink=0.8)
    row = axes[-1] if lower else []
    for axis, kind in zip(row, lower, strict=False):
        axis.set_visible(True)
        if kind == 'diffusion':
            _plot_bep(axis, data['diffusion'])
        else:
            _plot_steps(axis, data['schwoebel'])
    figure.tight_layout()
    path = pathlib.Path(path)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _plot_bep(axis, entries: list[dict]) -> None:
    for entry in entries:
        facets = entry['results']['facets'].values()
        x = [f['adsorption_energy'] for f in facets]
        y = [f['minimum_barrier'] for f in facets]
        points = axis.scatter(x, y, label=entry['potential'])
        for facet in facets:
            axis.annotate(facet['facet'], (facet['adsorption_energy'], facet['minimum_barrier']), fontsize=8)
        if entry.get('bep'):
            fit = entry['bep']['fit']
            line = np.linspace(min(x), max(x), 2)
            axis.plot(
                line,
                fit['slope'] * line + fit['intercept'],
                color=points.get_facecolor()[0],
                label=f'fit without {", ".join(fit["excluded"]) or "none"}: r² {fit["r2"]:.2f}',
            )
    axis.set_xlabel('E_ads (eV)')
    axis.set_ylabel('minimum barrier (eV)')
    axis.set_title('b) BEP relation')
    axis.legend(fontsize=7)


def _plot_steps(axis, entries: list[dict]) -> None:
    for entry in entries:
        results = entry['results']
        for mechanism, style in (('terrace', ':'), ('direct', '-'), ('exchange', '--')):
            band = results[mechanism]
            label = f'{entry["potential"]} {mechanism}'
            if mechanism != 'terrace':
                label += f': E_S {band["schwoebel_barrier"]:.3f} eV'
            axis.plot(band['reaction_coordinate'], band['energies'], style, marker='o', markersize=3, label=label)
    axis.set_xlabel('reaction coordinate (Å)')
    axis.set_ylabel('E - E(start) (eV)')
    axis.set_title('c) down a (100) step')
    axis.legend(fontsize=6, loc='lower left')
