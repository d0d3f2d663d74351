"""Read ``.npy`` files without importing NumPy.

The cache stores arrays as standard ``.npy`` files (written with NumPy when they are built).
A single lookup only needs a few numbers, and importing NumPy costs more than the whole
lookup, so this module reads the format's small header itself and returns the data as a
stdlib :class:`array.array`; vectorised code wraps it zero-copy with ``numpy.frombuffer``.
"""

from __future__ import annotations

import re
import sys
from array import array
from pathlib import Path

_MAGIC = b"\x93NUMPY"
_TYPECODES = {"<f8": "d", "<i8": "q"}
_DESCR = re.compile(r"'descr':\s*'([^']+)'")
_FORTRAN = re.compile(r"'fortran_order':\s*(True|False)")
_SHAPE = re.compile(r"'shape':\s*\(([^)]*)\)")


def read_npy(path: Path) -> tuple[array, tuple[int, ...]]:
    """The flat data and shape of a C-ordered little-endian float64/int64 ``.npy`` file.

    Raises:
        ValueError: not such a file (the caller treats the cache entry as missing).
    """
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:6] != _MAGIC or len(data) < 10:
        raise ValueError(f"{path} is not an .npy file")
    major = data[6]
    size_bytes = 2 if major == 1 else 4
    start = 8 + size_bytes
    header_len = int.from_bytes(data[8:start], "little")
    header = data[start : start + header_len].decode("latin1")
    descr, fortran, shape_text = _DESCR.search(header), _FORTRAN.search(header), _SHAPE.search(header)
    if not (descr and fortran and shape_text) or fortran.group(1) != "False":
        raise ValueError(f"{path}: unsupported .npy header {header!r}")
    typecode = _TYPECODES.get(descr.group(1))
    if typecode is None or sys.byteorder != "little":
        raise ValueError(f"{path}: unsupported dtype {descr.group(1)}")
    shape = tuple(int(part) for part in shape_text.group(1).split(",") if part.strip())
    values = array(typecode)
    values.frombytes(data[start + header_len :])
    expected = 1
    for dim in shape:
        expected *= dim
    if len(values) != expected:
        raise ValueError(f"{path}: truncated data")
    return values, shape
