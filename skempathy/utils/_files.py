"""File helpers shared by the writers of outputs, downloads and caches."""

import os

__all__ = ["use_default_permissions"]


def use_default_permissions(path):
    """Give ``path`` the mode a plain ``open(path, "w")`` would (0o666 minus the umask).

    ``tempfile.mkstemp`` creates files readable by their owner only (0o600);
    files written to a temporary name and then renamed into place would keep
    that mode, so call this before the rename.
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
