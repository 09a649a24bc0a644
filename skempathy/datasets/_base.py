"""Data home, bundled-file reading and checksum-verified downloads.

Follows ``sklearn/datasets/_base.py``: a ``data_home`` cache folder
(``SKEMPATHY_DATA`` overrides ``~/skempathy_data``), ``DESCR`` texts from
``descr/*.rst``, and downloads that verify sha256 and never leave a partial
file behind.
"""

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
from collections import namedtuple
from importlib import resources
from pathlib import Path

import pandas as pd

from ..utils._files import use_default_permissions

__all__ = ["get_data_home", "clear_data_home"]

RemoteFile = namedtuple("RemoteFile", ["filename", "url", "sha256"])

DATA_MODULE = "skempathy.datasets.data"
DESCR_MODULE = "skempathy.datasets.descr"


def get_data_home(data_home=None):
    """Return the folder where ``fetch_*`` caches data, creating it if needed.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder. ``None`` means the ``SKEMPATHY_DATA`` environment variable,
        else ``~/skempathy_data``.

    Returns
    -------
    str
        The absolute path of the folder.

    Examples
    --------
    >>> import tempfile
    >>> from skempathy.datasets import get_data_home
    >>> home = get_data_home(tempfile.mkdtemp())
    """
    if data_home is None:
        data_home = os.environ.get("SKEMPATHY_DATA", os.path.join("~", "skempathy_data"))
    data_home = os.path.abspath(os.path.expanduser(os.fspath(data_home)))
    os.makedirs(data_home, exist_ok=True)
    return data_home


def clear_data_home(data_home=None):
    """Delete every file in the data home cache.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder to empty; None is :func:`get_data_home`'s default.
    """
    shutil.rmtree(get_data_home(data_home))


def load_descr(name):
    """Text of ``descr/<name>.rst``."""
    return resources.files(DESCR_MODULE).joinpath(f"{name}.rst").read_text(encoding="utf-8")


def read_bundled_csv(filename):
    """Read a gzip-compressed CSV shipped in ``skempathy/datasets/data``."""
    with resources.files(DATA_MODULE).joinpath(filename).open("rb") as raw:
        with gzip.open(raw) as handle:
            return pd.read_csv(handle, dtype={"message_id": str, "response_id": str})


def sha256sum(path, chunk_size=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_file(remote, folder, *, download_if_missing=True, dataset=None):
    """Return the local path of ``remote`` in ``folder``, downloading it if needed.

    A cached file is verified against ``remote.sha256`` too, so a corrupt or
    truncated cache is reported instead of silently parsed.

    Raises
    ------
    OSError
        If the file is missing and ``download_if_missing=False``, or the download fails.
    ValueError
        If the file's checksum does not match.
    """
    dataset = dataset or Path(folder).name
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, remote.filename)
    if not os.path.exists(path):
        if not download_if_missing:
            raise OSError(
                f"{dataset}: {remote.filename} is not in the data home {folder} and "
                "download_if_missing=False."
            )
        _download(remote, path, dataset)
    else:
        checksum = sha256sum(path)
        if checksum != remote.sha256:
            raise ValueError(
                f"{dataset}: the cached file {path} is corrupt or truncated (sha256 {checksum}, "
                f"expected {remote.sha256}). Delete it to download it again."
            )
    return path


def _download(remote, path, dataset):
    """Download to a temporary file in the same folder; rename only once verified."""
    fd, tmp_path = tempfile.mkstemp(prefix=".part-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(remote.url, timeout=60) as resp:
            shutil.copyfileobj(resp, out)
        checksum = sha256sum(tmp_path)
        if checksum != remote.sha256:
            raise ValueError(
                f"{dataset}: checksum mismatch for {remote.url} (sha256 {checksum}, expected "
                f"{remote.sha256}); the file was not saved."
            )
        use_default_permissions(tmp_path)  # mkstemp made it owner-only
        os.replace(tmp_path, path)
    except BaseException as exc:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        if isinstance(exc, (OSError,)) and not isinstance(exc, FileNotFoundError):
            raise OSError(f"{dataset}: could not download {remote.url}: {exc}") from exc
        raise
