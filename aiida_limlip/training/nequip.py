"""NequIP training set-up without AiiDA: the Hydra config from a few settings, and the learning curve reader.

The settings are the knobs the paper varies (cutoff, precision, size of the network, epochs, loss weights, seed);
``config_overrides`` reaches anything else of nequip's config. Data units are those of the extended XYZ files:
eV, eV/Å and eV/Å^3 (ASE's stress sign, which nequip shares).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

from ..utils import recursive_merge

#: File names inside the training job's working directory.
CONFIG_FILE = 'config.yaml'
TRAIN_FILE = 'train.extxyz'
VALID_FILE = 'valid.extxyz'
BEST_CHECKPOINT = 'best.ckpt'
LAST_CHECKPOINT = 'last.ckpt'
RESTART_CHECKPOINT = 'restart.ckpt'
METRICS_FILE = 'logs/version_0/metrics.csv'

#: Settings understood by :func:`build_config`, with their defaults (a small model; protocols scale it up).
DEFAULT_SETTINGS: dict[str, Any] = {
    'cutoff': 6.0,
    'model_dtype': 'float32',
    'num_layers': 2,
    'l_max': 1,
    'num_features': 16,
    'radial_mlp_depth': 1,
    'radial_mlp_width': 16,
    'max_epochs': 10,
    'learning_rate': 0.01,
    'batch_size': 4,
    'loss_coeffs': {'energy': 1.0, 'forces': 1.0, 'stress': 1.0},
    'seed': 1,
    'max_train_seconds': None,
    'config_overrides': {},
}
MODEL_DTYPES = ('float32', 'float64')


def validate_settings(settings: dict[str, Any]) -> str | None:
    """Return an error message for unknown keys or impossible values of the NequIP ``settings``, else ``None``."""
    unknown = set(settings) - set(DEFAULT_SETTINGS)
    if unknown:
        return f'unknown NequIP settings {sorted(unknown)}; known: {", ".join(sorted(DEFAULT_SETTINGS))}'
    merged = {**DEFAULT_SETTINGS, **settings}
    if merged['model_dtype'] not in MODEL_DTYPES:
        return f'model_dtype must be one of {MODEL_DTYPES}, got {merged["model_dtype"]!r}'
    for key in ('num_layers', 'num_features', 'max_epochs', 'batch_size', 'radial_mlp_depth', 'radial_mlp_width'):
        if not isinstance(merged[key], int) or merged[key] < 1:
            return f'{key} must be a positive integer, got {merged[key]!r}'
    if not isinstance(merged['l_max'], int) or merged['l_max'] < 0:
        return f'l_max must be a non-negative integer, got {merged["l_max"]!r}'
    if not merged['cutoff'] > 0 or not merged['learning_rate'] > 0:
        return 'cutoff (Å) and learning_rate must be positive'
    unknown_terms = set(merged['loss_coeffs']) - {'energy', 'forces', 'stress'}
    if unknown_terms:
        return f'loss_coeffs takes energy, forces and stress; got {sorted(unknown_terms)}'
    return None


def build_config(
    settings: dict[str, Any],
    species: Sequence[str],
    restart: bool = False,
) -> dict[str, Any]:
    """Return nequip's Hydra training config for ``settings`` (see :data:`DEFAULT_SETTINGS`).

    Parameters
    ----------
    settings
        Training settings; missing keys take the defaults. ``loss_coeffs.stress`` of 0 trains without stress (the
        model still predicts it). ``max_train_seconds`` stops training gracefully, leaving a checkpoint to restart.
    species
        Chemical symbols of the model, in type order.
    restart
        Continue from :data:`RESTART_CHECKPOINT` (model, optimiser and epoch counter); nequip then takes the model
        and training module from the checkpoint and the data and trainer (e.g. ``max_epochs``) from this config.
    """
    s = recursive_merge(DEFAULT_SETTINGS, settings)
    species = list(species)
    coeffs = {'energy': 1.0, 'forces': 1.0, 'stress': 1.0, **s['loss_coeffs']}
    loss_coeffs = {'total_energy': coeffs['energy'], 'forces': coeffs['forces']}
    metric_coeffs = {'per_atom_energy_rmse': coeffs['energy'], 'forces_rmse': coeffs['forces']}
    if coeffs['stress']:
        loss_coeffs['stress'] = coeffs['stress']
        metric_coeffs['stress_rmse'] = coeffs['stress']
    loss = 'EnergyForceStressLoss' if coeffs['stress'] else 'EnergyForceLoss'
    metrics = 'EnergyForceStressMetrics' if coeffs['stress'] else 'EnergyForceMetrics'
    loader = {'_target_': 'torch.utils.data.DataLoader', 'batch_size': s['batch_size']}
    trainer: dict[str, Any] = {
        '_target_': 'lightning.Trainer',
        'max_epochs': s['max_epochs'],
        'accelerator': 'cpu',
        'enable_progress_bar': False,
        'log_every_n_steps': 1,
        'logger': {
            '_target_': 'lightning.pytorch.loggers.CSVLogger',
            'save_dir': '.',
            'name': 'logs',
            'version': 0,
        },
        'callbacks': [
            {
                '_target_': 'lightning.pytorch.callbacks.ModelCheckpoint',
                'monitor': 'val0_epoch/weighted_sum',
                'dirpath': '.',
                'filename': BEST_CHECKPOINT.removesuffix('.ckpt'),
                'save_last': True,
            }
        ],
    }
    if s['max_train_seconds']:
        # Lightning's "DD:HH:MM:SS" form: a mapping would reach it as an OmegaConf object, which it rejects.
        seconds = int(math.ceil(s['max_train_seconds']))
        days, hours, minutes = seconds // 86400, seconds // 3600 % 24, seconds // 60 % 60
        trainer['max_time'] = f'{days:02d}:{hours:02d}:{minutes:02d}:{seconds % 60:02d}'
    config: dict[str, Any] = {
        'run': ['train'],
        'seed': s['seed'],
        'hydra': {'run': {'dir': '.'}},
        'data': {
            '_target_': 'nequip.data.datamodule.ASEDataModule',
            'seed': s['seed'],
            'train_file_path': TRAIN_FILE,
            'val_file_path': VALID_FILE,
            'ase_args': {'format': 'extxyz'},
            'transforms': [
                {
                    '_target_': 'nequip.data.transforms.ChemicalSpeciesToAtomTypeMapper',
                    'model_type_names': species,
                    'chemical_species_to_atom_type_map': {symbol: symbol for symbol in species},
                },
                {'_target_': 'nequip.data.transforms.NeighborListTransform', 'r_max': s['cutoff']},
            ],
            'train_dataloader': {**loader, 'shuffle': True},
            'val_dataloader': loader,
            'stats_manager': {'_target_': 'nequip.data.CommonDataStatisticsManager', 'type_names': species},
        },
        'trainer': trainer,
        'training_module': {
            '_target_': 'nequip.train.EMALightningModule',
            'loss': {'_target_': f'nequip.train.{loss}', 'per_atom_energy': True, 'coeffs': loss_coeffs},
            'val_metrics': {'_target_': f'nequip.train.{metrics}', 'coeffs': metric_coeffs},
            'optimizer': {'_target_': 'torch.optim.Adam', 'lr': s['learning_rate']},
            'model': {
                '_target_': 'nequip.model.NequIPGNNModel',
                'seed': s['seed'],
                'model_dtype': s['model_dtype'],
                'type_names': species,
                'r_max': s['cutoff'],
                'l_max': s['l_max'],
                'parity': True,
                'num_layers': s['num_layers'],
                'num_features': s['num_features'],
                'radial_mlp_depth': s['radial_mlp_depth'],
                'radial_mlp_width': s['radial_mlp_width'],
                'avg_num_neighbors': '${training_data_stats:num_neighbors_mean}',
                'per_type_energy_shifts': '${training_data_stats:per_atom_energy_mean}',
                'per_type_energy_scales': '${training_data_stats:forces_rms}',
            },
        },
    }
    if restart:
        config['ckpt_path'] = RESTART_CHECKPOINT
    return recursive_merge(config, s['config_overrides'])


def read_metrics(text: str) -> dict[str, list[float]]:
    """Return the per-epoch columns of Lightning's ``metrics.csv`` written by a nequip training run.

    Lightning logs training steps, validation epochs and training epochs in separate rows; the epoch-level values
    (``val0_epoch/*`` and ``train_loss_epoch/*``) are gathered into one row per epoch. Names are shortened for
    ``ArrayData``: ``val0_epoch/forces_rmse`` becomes ``val_forces_rmse``, ``train_loss_epoch/weighted_sum``
    becomes ``train_loss``. A value an epoch did not log is NaN.
    """
    epochs: dict[int, dict[str, float]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        for name, value in row.items():
            if value in ('', None) or not name.startswith(('val0_epoch/', 'train_loss_epoch/')):
                continue
            short = name.replace('val0_epoch/', 'val_').replace('train_loss_epoch/', 'train_loss_')
            short = 'train_loss' if short == 'train_loss_weighted_sum' else short
            epochs.setdefault(int(row['epoch']), {})[short] = float(value)
    names = sorted({name for values in epochs.values() for name in values})
    columns: dict[str, list[float]] = {'epoch': [float(epoch) for epoch in sorted(epochs)]}
    for name in names:
        columns[name] = [epochs[epoch].get(name, math.nan) for epoch in sorted(epochs)]
    return columns
