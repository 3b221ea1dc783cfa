"""Selection, schedule and convergence of active learning on synthetic deviations (no AiiDA, no programs)."""

import numpy as np
import pytest

from aiida_limlip.analysis.active_learning import (
    ExplorationSettings,
    SelectionSettings,
    classify,
    md_parameters,
    select,
    supercell_repeats,
)


def records(values, config_class='bulk', temperature=300.0, pressure=0.0):
    return [
        {'max_devi_f': v, 'config_class': config_class, 'temperature': temperature, 'pressure': pressure}
        for v in values
    ]


def test_trust_levels_sort_frames_at_their_boundaries():
    # trust_lo belongs to the candidates, trust_hi to the failed frames; NaN (a model without forces) fails.
    verdicts = classify([0.0, 0.0499, 0.05, 0.1, 0.1499, 0.15, 3.0, float('nan')], 0.05, 0.15)
    assert verdicts == ['accurate', 'accurate', 'candidate', 'candidate', 'candidate', 'failed', 'failed', 'failed']


def test_the_cap_holds_and_the_draw_is_reproducible():
    rng = np.random.default_rng(7)
    values = rng.uniform(0.0, 0.3, 200)
    settings = SelectionSettings(trust_lo=0.05, trust_hi=0.15, max_candidates=10, seed=3)
    chosen, statistics = select(records(values), settings)
    assert len(chosen) == 10 == statistics['candidates_chosen']
    assert all(0.05 <= values[i] < 0.15 for i in chosen)
    assert statistics['candidates_found'] == int(np.sum((values >= 0.05) & (values < 0.15)))
    assert select(records(values), settings)[0] == chosen  # same seed, same choice
    other = select(records(values), SelectionSettings(trust_lo=0.05, trust_hi=0.15, max_candidates=10, seed=4))[0]
    assert other != chosen  # another seed draws others (from ~67 candidates)
    # Fewer candidates than the cap: all of them, in order.
    chosen, _ = select(records([0.01, 0.07, 0.2, 0.09]), settings)
    assert chosen == [1, 3]


def test_counts_per_class_and_condition_and_convergence():
    frames = records([0.01] * 9 + [0.08], 'bulk', 300.0, 0.0) + records([0.01] * 5 + [0.1] * 5, 'surface', 900.0, None)
    chosen, statistics = select(frames, SelectionSettings(accurate_threshold=0.9))
    assert statistics['classes']['bulk'] == {
        'accurate': 9,
        'candidate': 1,
        'failed': 0,
        'total': 10,
        'accurate_fraction': 0.9,
        'median_max_devi_f': 0.01,
    }
    assert statistics['classes']['surface']['accurate_fraction'] == 0.5
    assert statistics['classes']['surface']['median_max_devi_f'] == pytest.approx(0.055)
    assert set(statistics['conditions']) == {'T=300K P=0GPa', 'T=900K P=NVT'}
    assert statistics['overall']['accurate'] == 14 and len(chosen) == 6
    assert not statistics['converged'] and statistics['stop_reason'] is None  # the surface class lags
    _, statistics = select(records([0.01] * 19 + [0.08]), SelectionSettings(accurate_threshold=0.9))
    assert statistics['converged'] and statistics['stop_reason'] == 'converged'
    _, statistics = select(records([0.5] * 4), SelectionSettings())  # all failed: nothing to label, not converged
    assert not statistics['converged'] and statistics['stop_reason'] == 'no candidates'


def test_the_grid_is_visited_cold_to_hot_then_whole():
    settings = ExplorationSettings(temperatures=[900.0, 50.0], pressures=[1.0, 0.0], conditions_per_iteration=3)
    assert settings.grid == [(50.0, 0.0), (50.0, 1.0), (900.0, 0.0), (900.0, 1.0)]
    assert settings.num_blocks == 2
    assert settings.conditions(0) == [(50.0, 0.0), (50.0, 1.0), (900.0, 0.0)]
    assert settings.conditions(1) == [(900.0, 1.0)]
    assert settings.conditions(5) == settings.grid
    assert md_parameters(settings, 900.0, 1.0, False, 2)['ensemble'] == 'npt'
    slab = md_parameters(settings, 900.0, 1.0, True, 2)
    assert slab['ensemble'] == 'nvt_langevin' and 'pressure' not in slab
    # Tiny seeds are repeated for MD, the shortest vector first: 2 atoms -> 2x2x2 = 16; a 5-atom slab only in plane;
    # a 15-atom vacancy cell once (30 atoms, not 2x2x2 = 120); a long cell along its short vectors; big cells stay.
    cube = (3.44, 3.44, 3.44)
    assert supercell_repeats(cube, 2, 16, slab=False) == (2, 2, 2)
    assert supercell_repeats((3.4, 3.4, 20.0), 5, 16, slab=True) == (2, 2, 1)
    assert supercell_repeats((6.9, 6.9, 6.9), 15, 16, slab=False) == (2, 1, 1)
    assert supercell_repeats((3.0, 3.0, 12.0), 4, 16, slab=False) == (2, 2, 1)
    assert supercell_repeats(cube, 54, 16, slab=False) == (1, 1, 1)


@pytest.mark.parametrize(
    ('cls', 'data', 'message'),
    [
        (SelectionSettings, {'trust_lo': 0.15, 'trust_hi': 0.05}, 'trust_lo < trust_hi'),
        (SelectionSettings, {'trust_lo': 0.1, 'trust_hi': 0.1}, 'trust_lo < trust_hi'),
        (SelectionSettings, {'max_candidates': 0}, 'max_candidates'),
        (SelectionSettings, {'accurate_threshold': 1.5}, 'accurate_threshold'),
        (SelectionSettings, {'trust_low': 0.05}, 'unknown selection setting'),
        (ExplorationSettings, {'temperatures': []}, 'temperature grid is empty'),
        (ExplorationSettings, {'pressures': []}, 'pressure grid is empty'),
        (ExplorationSettings, {'temperatures': [0.0, 300.0]}, 'above 0 K'),
        (ExplorationSettings, {'steps': 10, 'frame_interval': 20}, 'frame_interval'),
    ],
)
def test_bad_settings_are_refused_with_the_reason(cls, data, message):
    with pytest.raises(ValueError, match=message):
        cls.from_dict(data)
