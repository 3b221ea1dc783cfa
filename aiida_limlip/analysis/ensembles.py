"""The spread of an ensemble over Figs. 2 and 3: each model's headline numbers, then their mean and std per ensemble.

Table 1 has its own (``tables.ensemble_table``); these are the numbers a reader takes from the figures: the lattice
constant and elastic constants at each temperature, each facet's lowest adsorption energy and diffusion barrier, and
the terrace and step-down barriers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Unit of each kind of headline number (the key's prefix up to the first parenthesis).
UNITS = {'a': 'Å', 'C11': 'GPa', 'C12': 'GPa', 'C44': 'GPa', 'E_ads': 'eV', 'E_D': 'eV', 'E_T': 'eV', 'E_ES': 'eV'}


def _temperature(label: str) -> str:
    """``T_300`` -> ``300 K``."""
    return f'{label[2:]} K' if label.startswith('T_') else label


def figure_headlines(prop: str, results: Mapping) -> dict[str, float]:
    """Return the headline numbers of one figure work chain's ``results`` (see :data:`UNITS`).

    Parameters
    ----------
    prop
        ``thermal_expansion``, ``elastic_t``, ``spes``, ``surface_diffusion`` or ``ehrlich_schwoebel``.
    results
        The work chain's results dictionary.

    Returns
    -------
    dict
        e.g. ``{'a(50 K)': 3.49}``, ``{'C11(50 K)': 14.1, ...}``, ``{'E_ads(100)': -1.6}``, ``{'E_D(100)': 0.05}``,
        ``{'E_T': 0.05, 'E_ES(direct)': 0.2, 'E_ES(exchange)': 0.1}``.
    """
    headlines: dict[str, float] = {}
    if prop == 'thermal_expansion':
        for label, entry in results['by_temperature'].items():
            headlines[f'a({_temperature(label)})'] = entry['lattice_constant']['mean']
    elif prop == 'elastic_t':
        for label, entry in results['by_temperature'].items():
            for constant in ('C11', 'C12', 'C44'):
                headlines[f'{constant}({_temperature(label)})'] = entry[constant]['value']
    elif prop == 'spes':
        for tag, facet in results['facets'].items():
            headlines[f'E_ads({tag.lstrip("f")})'] = facet['minimum_adsorption_energy']
    elif prop == 'surface_diffusion':
        for tag, facet in results['facets'].items():
            if facet.get('converged', True):  # an unconverged band has no saddle point to trust
                headlines[f'E_D({tag.lstrip("f")})'] = facet['minimum_barrier']
    elif prop == 'ehrlich_schwoebel':
        headlines['E_T'] = results['terrace_barrier']
        for mechanism in ('direct', 'exchange'):
            if mechanism in results:
                headlines[f'E_ES({mechanism})'] = results[mechanism]['barrier']
    else:
        raise ValueError(f'no headline numbers for `{prop}`')
    return {key: float(value) for key, value in headlines.items() if value is not None}


def ensemble_spread(
    headlines: Mapping[str, Mapping[str, Mapping[str, float]]], groups: Mapping[str, list[str]]
) -> dict[str, dict[str, dict[str, dict]]]:
    """Return each ensemble's mean and sample standard deviation (ddof = 1) of every headline number.

    Parameters
    ----------
    headlines
        Column (e.g. ``DeePMD_m00``) -> property -> :func:`figure_headlines`.
    groups
        Ensemble name -> its columns.

    Returns
    -------
    dict
        Ensemble -> property -> number -> ``{mean, std, n, unit}`` over the models that have it (``std`` None for
        one model). A model whose work chain failed counts in no number; ``n`` says how many did.
    """
    spread: dict[str, dict[str, dict[str, dict]]] = {}
    for group, columns in groups.items():
        for column in columns:
            for prop, numbers in headlines.get(column, {}).items():
                for key in numbers:
                    values = [headlines[c][prop][key] for c in columns if key in headlines.get(c, {}).get(prop, {})]
                    spread.setdefault(group, {}).setdefault(prop, {})[key] = {
                        'mean': float(np.mean(values)),
                        'std': float(np.std(values, ddof=1)) if len(values) > 1 else None,
                        'n': len(values),
                        'unit': UNITS[key.split('(')[0]],
                    }
    return spread


def spread_markdown(spread: Mapping[str, Mapping[str, Mapping[str, Mapping]]]) -> str:
    """Return ``spread`` as a Markdown table: one row per number, one column per ensemble (mean ± std (n))."""
    groups = sorted(spread)
    rows = sorted({(prop, key) for group in groups for prop in spread[group] for key in spread[group][prop]})
    lines = ['| property | number | ' + ' | '.join(groups) + ' |', '|---|---|' + '---|' * len(groups)]
    for prop, key in rows:
        cells = []
        for group in groups:
            entry = spread[group].get(prop, {}).get(key)
            if entry is None:
                cells.append('-')
            elif entry['std'] is None:
                cells.append(f'{entry["mean"]:.4g} (n=1)')
            else:
                cells.append(f'{entry["mean"]:.4g} ± {entry["std"]:.2g} (n={entry["n"]})')
        unit = UNITS[key.split('(')[0]]
        lines.append(f'| {prop} | {key} ({unit}) | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)
