"""``trackwell.Table``: typed rows and columns that ``log()`` stores as a Parquet file.

``table.py`` holds the ``Table`` class (W&B's ``wandb.Table``), ``columns.py`` the
column types, ``parquet.py`` the encoding, ``joined.py`` W&B's ``JoinedTable``.
Importing this package imports no numpy, pandas or pyarrow: they are loaded when a
table is encoded, decoded or converted.
"""

from __future__ import annotations

from trackwell.table.joined import JoinedTable
from trackwell.table.table import Table

__all__ = ["JoinedTable", "Table"]
