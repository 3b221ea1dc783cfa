"""Frames of an evaluation by label."""

from __future__ import annotations

from ase import Atoms

from ..data.frame_set import FrameSetData


def frames_by_label(frames: FrameSetData) -> dict[str, Atoms]:
    """Return the frames of a batch evaluation keyed by their label."""
    return {atoms.info['label']: atoms for atoms in frames.get_frames()}
