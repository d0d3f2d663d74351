"""Files written whole or not at all, with the mode a new file gets here.

Writers create a temporary file beside the target and ``os.replace`` it over the target
(atomic on one file system), so a reader never sees half a file and a writer killed midway
leaves the target as it was. :func:`new_file_beside` creates that temporary file as ``open``
creates a file, 0666 less the umask, not 0600 as :func:`tempfile.mkstemp` does: a table, an
output or a cache entry that others may read (a group's shared cache, a published table) stays
readable by them, as any file its writer creates.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def new_file_beside(target: Path) -> Path:
    """Create an empty file in ``target``'s folder, named after it (``.NAME.XXXXXXXX.tmp``),
    with mode 0666 less the umask, and return its path.

    Raises:
        OSError: the folder cannot be written.
    """
    while True:
        path = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:  # a name drawn twice: draw another
            continue
        return path
