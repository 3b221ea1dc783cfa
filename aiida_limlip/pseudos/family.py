"""Install the regenerated PAW data set as an aiida-pseudo family with recommended cutoffs."""

from __future__ import annotations

import pathlib
import tempfile

from .generate import generate_li_paw

FAMILY_LABEL = 'limlip/psl-1.0.0/PBE/PAW'
#: The paper's plane-wave cutoff (1360 eV = 100 Ry) and 4x for the density; ld1.x suggests 103/410 Ry.
PAPER_CUTOFFS_RY = {'Li': {'cutoff_wfc': 100.0, 'cutoff_rho': 400.0}}


def install_li_family(label: str = FAMILY_LABEL, ld1: str = 'ld1.x'):
    """Generate the data set and install it as a ``CutoffsPseudoPotentialFamily``; return the family.

    Idempotent: an existing family of that label is returned unchanged.
    """
    from aiida.common.exceptions import NotExistent
    from aiida.orm import Group
    from aiida_pseudo.data.pseudo import UpfData
    from aiida_pseudo.groups.family import CutoffsPseudoPotentialFamily

    try:
        return Group.collection.get(label=label)
    except NotExistent:
        pass
    with tempfile.TemporaryDirectory() as directory:
        generated = generate_li_paw(pathlib.Path(directory) / 'ld1', ld1=ld1)
        folder = pathlib.Path(directory) / 'family'
        folder.mkdir()
        (folder / generated['filepath'].name).write_bytes(generated['filepath'].read_bytes())
        family = CutoffsPseudoPotentialFamily.create_from_folder(
            folder,
            label,
            description=(
                'Li.pbe-s-kjpaw_psl.1.0.0 regenerated with ld1.x from the pslibrary 1.0.0 parameters '
                f'(md5 {generated["md5"]}); ld1.x suggests {generated["suggested_cutoff_wfc"]:.0f}/'
                f'{generated["suggested_cutoff_rho"]:.0f} Ry.'
            ),
            pseudo_type=UpfData,
        )
    family.set_cutoffs(PAPER_CUTOFFS_RY, 'paper', unit='Ry')
    return family
