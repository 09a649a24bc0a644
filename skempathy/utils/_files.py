"""File helpers shared by the writers of outputs, downloads and caches."""

import os
import re
import stat
import tempfile
from pathlib import Path, PurePosixPath, PureWindowsPath

__all__ = [
    "UnsafeFileError",
    "check_member_name",
    "check_model_folder",
    "private_folder",
    "read_folder",
    "use_default_permissions",
    "write_atomic",
    "write_folder",
]


class UnsafeFileError(ValueError):
    """A model file or folder that would write or read outside its place, or whose
    contents do not match their recorded digest; nothing from it was used.

    Examples
    --------
    >>> from skempathy.io import UnsafeFileError
    >>> issubclass(UnsafeFileError, ValueError)
    True
    """


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
        names = [
            os.path.relpath(os.path.join(root, name), path)
            for root, _, files in os.walk(path)
            for name in files
        ]
    out = {}
    for name in names:
        with open(os.path.join(path, name), "rb") as fh:
            out[name] = fh.read()
    return out


_SEPARATORS = re.compile(r"[\\/]")


def check_member_name(name):
    """Raise :class:`UnsafeFileError` unless ``name`` is a plain relative path.

    Refused: non-strings, empty names, NUL bytes, absolute paths and drives
    (POSIX or Windows), and ``..``, ``.`` or empty components, with either
    separator, so that a name from a file can never leave the folder it is
    written into (the "zip slip" class of bug).
    """
    if not isinstance(name, str) or not name or "\0" in name:
        raise UnsafeFileError(f"unsafe file name {name!r} in a model file")
    windows = PureWindowsPath(name)
    if PurePosixPath(name).is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        raise UnsafeFileError(f"unsafe file name {name!r} in a model file: an absolute path")
    if any(part in ("", ".", "..") for part in _SEPARATORS.split(name)):
        raise UnsafeFileError(
            f"unsafe file name {name!r} in a model file: it leaves its "
            "folder or is not a plain relative path"
        )
    return name


def write_folder(files, path, *, max_bytes=None):
    """Write ``{relative path: bytes}`` (as :func:`read_folder` returns) under ``path``.

    Every name is checked first (:func:`check_member_name`), and so are the
    types and the total size (``max_bytes``), so a refused mapping writes
    nothing. Files are created exclusively and links are never followed:
    nothing is written outside ``path``.
    """
    if not isinstance(files, dict):
        raise UnsafeFileError(
            f"packed files must be a dict of names to bytes, got {type(files).__name__}"
        )
    total = 0
    for name, data in files.items():
        check_member_name(name)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UnsafeFileError(f"packed file {name!r} holds a {type(data).__name__}, not bytes")
        total += len(data)
    if max_bytes is not None and total > max_bytes:
        raise UnsafeFileError(
            f"packed files hold {total} bytes, more than the limit of {max_bytes}"
        )
    root = os.path.realpath(path)
    flags = (
        os.O_WRONLY
        | os.O_CREAT
        | os.O_EXCL
        | getattr(os, "O_NOFOLLOW", 0)
        | getattr(os, "O_BINARY", 0)
    )
    for name, data in files.items():
        parts = _SEPARATORS.split(name)
        folder = os.path.join(root, *parts[:-1])
        # before creating anything: a link on the way would create folders where it points
        if os.path.commonpath([root, os.path.realpath(folder)]) != root:
            raise UnsafeFileError(
                f"unsafe file name {name!r} in a model file: its folder leads outside the target"
            )
        os.makedirs(folder, exist_ok=True)
        fd = os.open(os.path.join(folder, parts[-1]), flags, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)


def check_model_folder(path):
    """Raise :class:`UnsafeFileError` if a model folder holds links or special files.

    A folder from elsewhere (a download, an archive someone sent) is read by
    name; a link inside it could make a loader read another model's weights or
    a device, so only plain files and folders are accepted. Returns ``path``.
    """
    for root, dirs, names in os.walk(path):
        for name in dirs + names:
            full = os.path.join(root, name)
            mode = os.lstat(full).st_mode
            if stat.S_ISLNK(mode):
                raise UnsafeFileError(
                    f"{full} is a link; a model folder must hold plain "
                    "files (copy the files in instead of linking them)"
                )
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise UnsafeFileError(f"{full} is not a plain file")
    return path


def private_folder(path):
    """Create ``path`` (mode 0700) or check that it is the user's own private folder.

    A folder in a shared place (the system's temporary folder) that another
    user created first, or that others can write to, or a link, is refused
    with :class:`UnsafeFileError`: its contents could be anyone's. pip and
    matplotlib check their caches the same way. Returns ``path``.
    """
    try:
        os.makedirs(path, mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UnsafeFileError(f"{path} is not a plain folder")
    if hasattr(os, "getuid"):  # POSIX: the owner and the mode tell whose it is
        if info.st_uid != os.getuid():
            raise UnsafeFileError(f"{path} belongs to another user (uid {info.st_uid})")
        if info.st_mode & 0o077:
            raise UnsafeFileError(
                f"{path} can be read or written by other users "
                f"(mode {stat.S_IMODE(info.st_mode):o})"
            )
    return path
