"""``aiida-limlip fig3``: the paper's Fig. 3 from finished surface-kinetics work chains."""

from __future__ import annotations

import pathlib

import click
from aiida.cmdline.params import arguments
from aiida.cmdline.utils import decorators, echo

from . import cmd_root


@cmd_root.command('fig3')
@arguments.PROCESSES()
@click.option('--png', 'png_path', type=click.Path(dir_okay=False, path_type=pathlib.Path), help='Write Fig. 3 here.')
@decorators.with_dbenv()
def cmd_fig3(processes, png_path):
    """Print E_ads, barriers, the BEP fit and step barriers of PROCESSES; optionally write Fig. 3 (PNG).

    PROCESSES are AdsorptionEnergySurfaceWorkChain, SurfaceDiffusionWorkChain and EhrlichSchwoebelWorkChain nodes,
    of one or several potentials. The SPES maps show the path of the minimum barrier when its diffusion node is given.
    """
    from ..analysis.figure3 import plot_figure3
    from ..query import surface_kinetics_data

    if not processes:
        echo.echo_critical('give the surface-kinetics work chains to plot')
    try:
        data = surface_kinetics_data(list(processes))
    except ValueError as exception:
        echo.echo_critical(str(exception))
    if data['spes']:
        click.echo('| potential | facet | E_ads min (eV) | minima (u, v: relative E_ads in eV) |')
        click.echo('|---|---|---|---|')
        for entry in data['spes']:
            for facet in entry['results']['facets'].values():
                minima = '; '.join(
                    f'({m["site"][0]:.2f}, {m["site"][1]:.2f}): {m["relative"]:.4f}' for m in facet['minima']
                )
                click.echo(
                    f'| {entry["potential"]} | ({facet["facet"]}) | {facet["minimum_adsorption_energy"]:.4f} | '
                    f'{minima} |'
                )
    for entry in data['diffusion']:
        click.echo(f'\n{entry["potential"]}: minimum diffusion barriers')
        click.echo('| facet | E_ads (eV) | minimum barrier (eV) | rate / rate(100) at T |')
        click.echo('|---|---|---|---|')
        ratios = (entry['bep'] or {}).get('rate_ratios', {})
        for facet in entry['results']['facets'].values():
            ratio = ratios.get(facet['facet'])
            click.echo(
                f'| ({facet["facet"]}) | {facet["adsorption_energy"]:.4f} | {facet["minimum_barrier"]:.4f} | '
                f'{"" if ratio is None else f"{ratio:.3g}"} |'
            )
        if entry['bep']:
            for key, name in (('fit', 'BEP fit'), ('fit_all', 'BEP fit, every facet')):
                fit = entry['bep'][key]
                click.echo(
                    f'{name}: slope {fit["slope"]:.3f}, intercept {fit["intercept"]:.4f} eV, r^2 {fit["r2"]:.3f} '
                    f'(facets {", ".join(fit["facets"])})'
                )
    for entry in data['schwoebel']:
        results = entry['results']
        click.echo(f'\n{entry["potential"]}: (100) step, E_T {results["terrace_barrier"]:.4f} eV')
        for mechanism in ('direct', 'exchange'):
            band = results[mechanism]
            click.echo(f'  {mechanism}: E_ESB {band["barrier"]:.4f} eV, E_S {band["schwoebel_barrier"]:.4f} eV')
    if png_path:
        plot_figure3(data, png_path)
        echo.echo_success(f'Fig. 3 written to {png_path}')
