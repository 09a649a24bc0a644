"""File helpers shared by the writers of outputs, downloads and caches."""

import os
import tempfile
from pathlib import Path

__all__ = ["read_folder", "use_default_permissions", "write_atomic", "write_folder"]


def use_default_permissions(path):
    """Give ``path`` the mode a plain ``open(path, "w")`` would (0o666 minus the umask).

    ``tempfile.mkstemp`` creates files readable by their owner only (0o600);
    files written to a temporary name and then renamed into place would keep
    that mode, so call this before the rename.
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def write_atomic(path, write):
    """Call ``write(tmp_path)`` then rename onto ``path``: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        use_default_permissions(tmp)  # mkstemp made it owner-only
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_folder(path, names=None):
    """``{relative path: bytes}`` of the files ``names`` under ``path`` (default: all)."""
    if names is None:
        names = [os.path.relpath(os.path.join(root, name), path)
                 for root, _, files in os.walk(path) for name in files]
    out = {}
    for name in names:
        with open(os.path.join(path, name), "rb") as fh:
            out[name] = fh.read()
    return out


def write_folder(files, path):
    """Write ``{relative path: bytes}`` (as :func:`read_folder` returns) under ``path``."""
    for name, data in files.items():
        full = os.path.join(path, name)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(data)
