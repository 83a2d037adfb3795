"""``trackwell.Molecule``: W&B's ``wandb.Molecule``, a molecule file (PDB, SDF, ...).

A file path or an open file is stored as it is (no chemistry library needed);
``from_rdkit`` and ``from_smiles`` need rdkit, imported only when they are called, to
turn a molecule into a PDB block (in 3-D, force-field optimised, as W&B does).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from trackwell.media import _util
from trackwell.media.base import Media, MediaContext, MissingDependencyError, copy_file, write_file

#: W&B's molecule formats (files the dashboard's viewer reads).
FORMATS = ("pdb", "pqr", "mmcif", "mcif", "cif", "sdf", "sd", "gro", "mol2", "mmtf")
#: Files ``from_rdkit`` reads with rdkit.
RDKIT_FORMATS = ("mol", "sdf")


class Molecule(Media):
    """A molecule from a file path (``"6lu7.pdb"``) or an open file with its ``file_type``."""

    _type = "molecule-file"

    def __init__(self, data_or_path: Any, caption: str | None = None, file_type: str | None = None) -> None:
        self.caption = None if caption is None else str(caption)
        self._path: Path | None = None
        self._data: bytes | None = None
        if hasattr(data_or_path, "read"):
            self.format = _format(file_type, "pass file_type= with a file object")
            data = data_or_path.read()
            self._data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        elif isinstance(data_or_path, (str, os.PathLike)):
            self._path = _util.existing_file(data_or_path, "trackwell.Molecule")
            self.format = _format(self._path.suffix, f"{str(self._path)!r} is not a molecule file")
        else:
            raise TypeError(
                "trackwell.Molecule takes a file path or an open file (use Molecule.from_rdkit or "
                f"from_smiles for other molecules), got {type(data_or_path).__name__}"
            )

    @classmethod
    def from_rdkit(
        cls,
        data_or_path: Any,
        caption: str | None = None,
        convert_to_3d_and_optimize: bool = True,
        mmff_optimize_molecule_max_iterations: int = 200,
    ) -> Molecule:
        """An rdkit ``Mol``, or a ``.mol``/``.sdf`` file rdkit reads, as a PDB molecule."""
        chem = _rdkit("Molecule.from_rdkit")
        if isinstance(data_or_path, (str, os.PathLike)):
            path = _util.existing_file(data_or_path, "trackwell.Molecule.from_rdkit")
            suffix = path.suffix.lower().lstrip(".")
            if suffix not in RDKIT_FORMATS:
                raise ValueError(
                    f"trackwell.Molecule.from_rdkit: {str(path)!r} is not one of .{', .'.join(RDKIT_FORMATS)}"
                )
            mol = (
                chem.MolFromMolFile(str(path), sanitize=True)
                if suffix == "mol"
                else next(iter(chem.SDMolSupplier(str(path))), None)
            )
            if mol is None:
                raise ValueError(f"trackwell.Molecule.from_rdkit: rdkit could not read {str(path)!r}")
        else:
            mol = data_or_path
        if convert_to_3d_and_optimize:
            all_chem = importlib.import_module("rdkit.Chem.AllChem")
            mol = chem.AddHs(mol)
            all_chem.EmbedMolecule(mol)
            all_chem.MMFFOptimizeMolecule(mol, maxIters=mmff_optimize_molecule_max_iterations)
        out = cls.__new__(cls)
        out.caption = None if caption is None else str(caption)
        out._path, out._data, out.format = None, chem.MolToPDBBlock(mol).encode("utf-8"), "pdb"
        return out

    @classmethod
    def from_smiles(
        cls,
        data: str,
        caption: str | None = None,
        sanitize: bool = True,
        convert_to_3d_and_optimize: bool = True,
        mmff_optimize_molecule_max_iterations: int = 200,
    ) -> Molecule:
        """A molecule from a SMILES string (``"CC(=O)Nc1ccc(O)cc1"``), through rdkit."""
        chem = _rdkit("Molecule.from_smiles")
        mol = chem.MolFromSmiles(data, sanitize=sanitize)
        if mol is None:
            raise ValueError(f"trackwell.Molecule.from_smiles: rdkit could not parse the SMILES {data!r}")
        return cls.from_rdkit(
            mol,
            caption=caption,
            convert_to_3d_and_optimize=convert_to_3d_and_optimize,
            mmff_optimize_molecule_max_iterations=mmff_optimize_molecule_max_iterations,
        )

    def file_bytes(self) -> bytes:
        """The molecule file's bytes, as logged."""
        if self._data is not None:
            return self._data
        assert self._path is not None
        return self._path.read_bytes()

    def to_record(self, ctx: MediaContext) -> dict[str, Any]:
        if self._path is not None:
            record = copy_file(ctx, self._type, self._path, "molecule", "." + self.format)
        else:
            record = write_file(ctx, self._type, self.file_bytes(), "molecule", "." + self.format)
        if self.caption is not None:
            record["caption"] = self.caption
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any], read: Callable[[str], bytes]) -> Molecule:
        path = str(record["path"])
        out = cls.__new__(cls)
        out.caption, out._path, out._data = record.get("caption"), None, read(path)
        out.format = _format(Path(path).suffix, f"{path!r} is not a molecule file")
        return out


def _format(suffix: str | None, problem: str) -> str:
    name = str(suffix or "").lower().lstrip(".")
    if name not in FORMATS:
        raise ValueError(f"trackwell.Molecule: {problem} (one of {', '.join(FORMATS)})")
    return name


def _rdkit(what: str) -> Any:
    try:
        return importlib.import_module("rdkit.Chem")
    except ImportError:
        raise MissingDependencyError(
            f"trackwell.{what} needs rdkit, which is not installed; install it with: pip install rdkit"
        ) from None
