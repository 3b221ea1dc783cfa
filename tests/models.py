"""Tiny trained models of every kind the paper uses, shared by the tests that take any potential.

They are trained for real (nequip-train, dp) on 16 SNAP-labelled frames, in seconds: their numbers mean nothing
physically, but they run every code path a production NequIP or DeePMD model runs (a shared ML calculator, float32
and float64, a model file loaded on the compute node), which is what the potential-kind tests need.
"""

from __future__ import annotations

import copy

#: A 2-layer, 8-feature NequIP trained for 2 epochs (about 15 s on 2 cores); model_dtype is set per test.
TINY_NEQUIP = {
    'num_layers': 2,
    'l_max': 1,
    'num_features': 8,
    'radial_mlp_width': 8,
    'max_epochs': 2,
    'batch_size': 2,
}

#: A DeePMD se_e3 with a [2, 4, 8] embedding and a 16x2 ResNet, trained for 20 steps (about 10 s).
TINY_DEEPMD = {
    'model': {
        'type_map': ['Li'],
        'descriptor': {
            'type': 'se_e3',
            'sel': [64],  # neighbours within 6 Å: about 45 in bcc Li at 3.45 Å
            'rcut_smth': 0.5,
            'rcut': 6.0,
            'neuron': [2, 4, 8],
            'precision': 'float64',
            'seed': 1,
        },
        'fitting_net': {'neuron': [16, 16], 'resnet_dt': True, 'precision': 'float64', 'seed': 1},
    },
    'learning_rate': {'type': 'exp', 'decay_steps': 50, 'start_lr': 1e-3, 'stop_lr': 1e-5},
    'loss': {
        'type': 'ener',
        'start_pref_e': 0.02,
        'limit_pref_e': 1,
        'start_pref_f': 1000,
        'limit_pref_f': 1,
        'start_pref_v': 0.02,
        'limit_pref_v': 1,
    },
    'training': {'numb_steps': 20, 'seed': 1, 'disp_freq': 5, 'save_freq': 20},
}


#: Models for the potential-kind tests, trained on :func:`matrix_training_frames`. Measured on 2 cores: NequIP
#: about 28 s, DeePMD about 30 s each. With these settings (checked by hand, seed 1) every model has an E(V) minimum
#: at a = 3.45-3.52 Å, a stable H point and gamma(100) = 0.011-0.022 eV/Å^2 > 0; smaller models or shorter training
#: gave negative surface energies or imaginary phonons, which the property work chains rightly refuse to analyse.
#: DeePMD uses se_e2_a here (the paper's se_e3 in ``TINY_DEEPMD`` learns too slowly for a test): the code path, a
#: frozen deepmd-kit model in ``deepmd.calculator.DP``, is the same.
MATRIX_NEQUIP = {'max_epochs': 30, 'num_features': 16, 'radial_mlp_width': 16, 'seed': 1}
MATRIX_DEEPMD = {
    'model': {
        'descriptor': {
            'type': 'se_e2_a',
            'sel': [64],
            'rcut_smth': 0.5,
            'rcut': 6.0,
            'neuron': [4, 8, 16],
            'axis_neuron': 4,
            'precision': 'float64',
            'seed': 1,
        },
        'fitting_net': {'neuron': [32, 32], 'resnet_dt': True, 'precision': 'float64', 'seed': 1},
    },
    'training': {'numb_steps': 1000, 'save_freq': 1000, 'disp_freq': 100},
    'learning_rate': {'start_lr': 5e-3, 'stop_lr': 1e-4, 'decay_steps': 50},
    'loss': {'start_pref_e': 1, 'limit_pref_e': 5, 'start_pref_f': 10, 'limit_pref_f': 1, 'start_pref_v': 1},
}


def deepmd_parameters(seed: int = 1) -> dict:
    """Return the tiny DeePMD input with every seed set to ``seed`` (an ensemble member per seed)."""
    parameters = copy.deepcopy(TINY_DEEPMD)
    parameters['model']['descriptor']['seed'] = seed
    parameters['model']['fitting_net']['seed'] = seed
    parameters['training']['seed'] = seed
    return parameters


def train_nequip(code, training_set, **settings):
    """Train a tiny NequIP with the real ``nequip-train``; return ``(outputs, node)``."""
    from aiida import engine, orm

    from aiida_limlip.calculations.nequip import NequipTrainingCalculation

    return engine.run_get_node(
        NequipTrainingCalculation,
        code=code,
        training_set=training_set,
        parameters=orm.Dict({**TINY_NEQUIP, **settings}),
    )


def train_deepmd(code, training_set, seed: int = 1, **changes):
    """Train a tiny DeePMD model with the real ``dp``; return ``(outputs, node)``."""
    from aiida import engine, orm

    from aiida_limlip.calculations.deepmd import DeepmdTrainingCalculation

    parameters = deepmd_parameters(seed)
    for section, values in changes.items():
        parameters[section].update(values)
    return engine.run_get_node(
        DeepmdTrainingCalculation, code=code, training_set=training_set, parameters=orm.Dict(parameters)
    )


def matrix_training_frames(snap_spec) -> list:
    """Return 32 SNAP-labelled frames for the potential-kind tests' models: bulk, vacancy and (100)/(110) slabs.

    Bulk cells span a = 3.30-3.70 Å so the models have an E(V) minimum; the slabs teach them that a surface costs
    energy (models trained on bulk frames only give negative surface energies).
    """
    import numpy as np
    from ase.build import bcc100, bcc110, bulk

    from aiida_limlip.data.frame_set import FrameSetData
    from aiida_limlip.runner.calculators import make_calculator_factory

    spec, directory = snap_spec
    factory = make_calculator_factory(spec, directory)
    rng = np.random.default_rng(7)
    structures = []
    for a in np.linspace(3.30, 3.70, 12):
        atoms = bulk('Li', 'bcc', a=a, cubic=True).repeat(2)
        atoms.set_cell(atoms.cell @ (np.eye(3) + rng.uniform(-0.015, 0.015, (3, 3))), scale_atoms=True)
        structures.append(('bulk', atoms))
    for a in (3.40, 3.45, 3.50, 3.55):
        atoms = bulk('Li', 'bcc', a=a, cubic=True).repeat(2)
        del atoms[3]
        structures.append(('vacancy', atoms))
    for a in np.linspace(3.40, 3.56, 8):
        structures.append(('surface', bcc100('Li', size=(2, 2, 6), a=a, vacuum=5.0, periodic=True)))
        structures.append(('surface', bcc110('Li', size=(2, 2, 6), a=a, vacuum=5.0, periodic=True)))
    frames = []
    for index, (config_class, atoms) in enumerate(structures):
        atoms.rattle(0.04, seed=index)
        atoms.calc = factory()
        frames.append(
            FrameSetData.make_frame(
                atoms, atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress(), config_class=config_class
            )
        )
    return frames
