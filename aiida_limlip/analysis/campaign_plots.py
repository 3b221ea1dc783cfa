"""Plots of a campaign (no AiiDA): active-learning statistics per iteration and the models' learning curves."""

from __future__ import annotations

import os
import pathlib

import numpy as np

#: Validation force RMSE (eV/Å) in the learning curves of deepmd-kit and NequIP, and their x axis.
FORCE_COLUMNS = (('step', 'rmse_f_val'), ('epoch', 'val_forces_rmse'))


def _pyplot():
    os.environ.setdefault('MPLBACKEND', 'Agg')
    import matplotlib.pyplot as plt

    return plt


def plot_active_learning(records: list[dict], path: str | pathlib.Path) -> pathlib.Path:
    """Plot, per iteration, the accurate/candidate/failed fractions of the explored frames and the test errors.

    ``records`` are the iteration records of ``ActiveLearningWorkChain`` (its ``iterations`` outputs as dicts).
    """
    plt = _pyplot()
    iterations = [record['iteration'] for record in records]
    figure, (counts, errors) = plt.subplots(1, 2, figsize=(10, 4))
    bottom = np.zeros(len(records))
    for verdict, colour in (('accurate', 'tab:green'), ('candidate', 'tab:orange'), ('failed', 'tab:red')):
        values = np.array(
            [r['exploration']['overall'][verdict] / max(1, r['exploration']['overall']['total']) for r in records]
        )
        counts.bar(iterations, values, bottom=bottom, color=colour, label=verdict)
        bottom += values
    counts.set_xlabel('iteration')
    counts.set_ylabel('fraction of explored frames')
    counts.set_xticks(iterations)
    counts.legend()
    forces = [record['test_errors']['forces'] for record in records]
    energies = [record['test_errors']['energy'] for record in records]
    errors.plot(iterations, [np.nan if f is None else f for f in forces], 'o-', label='forces (meV/Å)')
    errors.plot(iterations, [np.nan if e is None else e for e in energies], 's-', label='energy (meV/atom)')
    twin = errors.twinx()
    twin.bar(iterations, [r['training_frames'] for r in records], alpha=0.2, color='grey')
    twin.set_ylabel('training frames')
    errors.set_xlabel('iteration')
    errors.set_ylabel('ensemble test RMSE (mean)')
    errors.set_xticks(iterations)
    errors.legend()
    figure.tight_layout()
    path = pathlib.Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_learning_curves(curves: dict[str, dict[str, np.ndarray]], path: str | pathlib.Path) -> pathlib.Path:
    """Plot each model's validation force RMSE (eV/Å) against its steps or epochs, on a log scale."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, columns in sorted(curves.items()):
        for x_key, y_key in FORCE_COLUMNS:
            if x_key in columns and y_key in columns:
                axis.plot(columns[x_key], columns[y_key], label=f'{name} ({x_key}s)')
                break
    axis.set_yscale('log')
    axis.set_xlabel('step or epoch')
    axis.set_ylabel('validation force RMSE (eV/Å)')
    axis.legend(fontsize='small')
    figure.tight_layout()
    path = pathlib.Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def plot_parity(pairs: dict[str, tuple[list, list]], path: str | pathlib.Path) -> pathlib.Path:
    """Plot predicted against DFT energies (eV/atom) and force components (eV/Å) of the test set, per potential.

    ``pairs`` maps a potential's name to (reference frames, predicted frames): ASE ``Atoms`` with their labels, in
    the same order.
    """
    plt = _pyplot()
    figure, (energy_axis, force_axis) = plt.subplots(1, 2, figsize=(10, 4.5))
    for name, (reference, predicted) in sorted(pairs.items()):
        e_ref = [a.get_potential_energy() / len(a) for a in reference]
        e_pred = [a.get_potential_energy() / len(a) for a in predicted]
        offset = float(np.mean(np.subtract(e_pred, e_ref)))  # each potential has its own energy zero
        energy_axis.plot(e_ref, np.subtract(e_pred, offset), 'o', ms=4, label=f'{name} (shifted {offset:+.3f})')
        f_ref = np.concatenate([a.get_forces().ravel() for a in reference])
        f_pred = np.concatenate([a.get_forces().ravel() for a in predicted])
        force_axis.plot(f_ref, f_pred, '.', ms=3, label=name)
    for axis, label in ((energy_axis, 'energy (eV/atom)'), (force_axis, 'force component (eV/Å)')):
        low, high = axis.get_xlim()
        axis.plot([low, high], [low, high], 'k--', lw=0.8)
        axis.set_xlabel(f'DFT {label}')
        axis.set_ylabel(f'predicted {label}')
    energy_axis.legend(fontsize='x-small')
    force_axis.legend(fontsize='x-small')
    figure.tight_layout()
    path = pathlib.Path(path)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
