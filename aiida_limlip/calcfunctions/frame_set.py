"""Operations on frame sets that keep provenance: merge, filter, split, import."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..data.frame_set import FrameSetData


@calcfunction
def merge_frame_sets(**frame_sets: FrameSetData) -> FrameSetData:
    """Return one data set with the frames of all inputs, in the order of their keyword names."""
    if not frame_sets:
        raise ValueError('nothing to merge: give at least one frame set')
    frames = [frame for key in sorted(frame_sets) for frame in frame_sets[key].get_frames()]
    return FrameSetData(frames)


@calcfunction
def filter_frame_set(frames: FrameSetData, config_classes: orm.List) -> FrameSetData:
    """Return the frames whose ``config_class`` is one of ``config_classes``."""
    wanted = set(config_classes.get_list())
    unknown = wanted - set(frames.config_classes)
    if unknown:
        raise ValueError(f'no frames of class(es) {sorted(unknown)}; present: {sorted(frames.config_classes)}')
    return FrameSetData([f for f in frames.get_frames() if f.info.get('config_class', 'unknown') in wanted])


@calcfunction
def split_frame_set(frames: FrameSetData, test_fraction: orm.Float, seed: orm.Int) -> dict:
    """Split randomly into ``train`` and ``test`` (at least one frame each); the same seed gives the same split."""
    fraction = test_fraction.value
    if not 0.0 < fraction < 1.0:
        raise ValueError(f'test_fraction must lie strictly between 0 and 1, got {fraction}')
    frames = frames.get_frames()
    if len(frames) < 2:
        raise ValueError('a split needs at least two frames')
    order = np.random.default_rng(seed.value).permutation(len(frames))
    count = min(len(frames) - 1, max(1, int(round(fraction * len(frames)))))
    test = sorted(order[:count])
    train = sorted(order[count:])
    return {'train': FrameSetData([frames[i] for i in train]), 'test': FrameSetData([frames[i] for i in test])}


@calcfunction
def import_extxyz(file: orm.SinglefileData, config_class: orm.Str) -> FrameSetData:
    """Import labelled frames from an extended XYZ file (ASE's keys: energy in eV, forces in eV/Å, stress).

    The stress must be in eV/Å^3 with ASE's sign (positive = tensile), which is what ASE writes. Frames without a
    ``config_class`` in their info get ``config_class``.
    """
    import io

    import ase.io

    with file.open(mode='r') as handle:
        frames = ase.io.read(io.StringIO(handle.read()), index=':', format='extxyz')
    for frame in frames:
        frame.info.setdefault('config_class', config_class.value)
    return FrameSetData(frames)


@calcfunction
def split_frame_set_by_class(frames: FrameSetData, test_fraction: orm.Float, seed: orm.Int) -> dict:
    """Split into ``train`` and ``test`` class by class, so every class stays in training.

    Of each configuration class with at least two frames, ``test_fraction`` (at least one, never all) goes to
    ``test``, drawn with ``seed``; a class of one frame stays in training. If no class has two frames, the split is
    random over all frames, as :func:`split_frame_set`.
    """
    fraction = test_fraction.value
    if not 0.0 < fraction < 1.0:
        raise ValueError(f'test_fraction must lie strictly between 0 and 1, got {fraction}')
    frames = frames.get_frames()
    if len(frames) < 2:
        raise ValueError('a split needs at least two frames')
    rng = np.random.default_rng(seed.value)
    classes: dict[str, list[int]] = {}
    for index, frame in enumerate(frames):
        classes.setdefault(frame.info.get('config_class', 'unknown'), []).append(index)
    test: list[int] = []
    for members in classes.values():
        if len(members) >= 2:
            count = min(len(members) - 1, max(1, int(round(fraction * len(members)))))
            test += [members[i] for i in rng.permutation(len(members))[:count]]
    if not test:
        order = rng.permutation(len(frames))
        test = list(order[: min(len(frames) - 1, max(1, int(round(fraction * len(frames)))))])
    test = sorted(int(i) for i in test)
    train = [i for i in range(len(frames)) if i not in set(test)]
    return {'train': FrameSetData([frames[i] for i in train]), 'test': FrameSetData([frames[i] for i in test])}
