"""Datasets the package ships, read and verified.

MNIST lives in the package's ``data/mnist/`` as the four original IDX files, gzip-compressed (see ``data/README.md``).
Each file is checked against the SHA-256 of its decompressed bytes before use, so a missing,
truncated or corrupt file is reported by name instead of turning into a silent shape error.
"""
from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .resources import data_dir


class DataError(RuntimeError):
    """A data file is missing, truncated, corrupt or not what its name says."""


#: SHA-256 of the decompressed IDX bytes (independent of how the files were compressed).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}
_IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}  # unsigned bytes, 1 or 3 dimensions


def default_data_dir() -> Path:
    """``$BRAINNETS_DATA`` if set, else the data shipped in the package (:func:`.resources.data_dir`)."""
    return data_dir()


@dataclass(frozen=True)
class LabelledImages:
    images: np.ndarray  # (n, 28, 28) uint8; CIFAR-10: (n, 3, 32, 32)
    labels: np.ndarray  # (n,) uint8

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, where: slice) -> "LabelledImages":
        return LabelledImages(self.images[where], self.labels[where])


def read_idx(path: Path, sha256: str | None = None) -> np.ndarray:
    """Read one gzip-compressed IDX file of unsigned bytes, verifying its decompressed checksum."""
    if not path.is_file():
        raise DataError(f"{path}: file not found (see data/README.md for where the data comes from)")
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read()
    except (EOFError, OSError, zlib.error) as error:
        raise DataError(f"{path}: cannot decompress, the file is truncated or corrupt ({error})") from None
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise DataError(f"{path}: SHA-256 of the decompressed bytes does not match data/README.md; "
                        "the file is corrupt or a different version")
    if len(raw) < 4:
        raise DataError(f"{path}: too short to be an IDX file")
    magic = int.from_bytes(raw[:4], "big")
    ndim = magic & 0xFF
    if _IDX_MAGIC.get(ndim) != magic:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (magic 0x{magic:08x})")
    shape = tuple(int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    header = 4 + 4 * ndim
    if len(raw) - header != int(np.prod(shape)):
        raise DataError(f"{path}: header says shape {shape} but the file holds {len(raw) - header} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


#: Fashion-MNIST (Xiao et al. 2017) as Debian's ``dataset-fashion-mnist`` installs it: the same IDX layout.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}


def _load_idx_split(folder: Path, split: str, checksums: dict[str, str]) -> LabelledImages:
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    prefix = _SPLIT_PREFIX[split]
    images_name, labels_name = f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"
    images = read_idx(folder / f"{images_name}.gz", checksums.get(images_name))
    labels = read_idx(folder / f"{labels_name}.gz", checksums.get(labels_name))
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise DataError(f"{folder}: {split} images {images.shape} do not match labels {labels.shape}")
    return LabelledImages(images, labels)


def load_mnist(split: str, data_dir: str | Path | None = None) -> LabelledImages:
    """The MNIST ``"train"`` (60,000) or ``"test"`` (10,000) split, verified."""
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    return _load_idx_split(folder / "mnist", split, MNIST_SHA256)


def load_fashion_mnist(split: str, folder: str | Path = FASHION_MNIST_DIR) -> LabelledImages:
    """Fashion-MNIST's ``"train"`` or ``"test"`` split (not shipped: ``apt-get install dataset-fashion-mnist``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: Fashion-MNIST not found; install Debian's dataset-fashion-mnist package")
    return _load_idx_split(folder, split, FASHION_MNIST_SHA256)


def load_idx_folder(split: str, folder: str | Path) -> LabelledImages:
    """Any image data set in MNIST's layout (the four gzip-compressed IDX files, named as MNIST names them):
    verified for shape (28 x 28 images, as many labels as images) and label range (0-9), not by checksum."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found (expected the four IDX files of the MNIST layout)")
    data = _load_idx_split(folder, split, checksums={})
    if data.labels.ndim != 1 or data.labels.size and data.labels.max() > 9:
        raise DataError(f"{folder}: {split} labels must be digits 0-9, found up to {int(data.labels.max())}")
    return data


#: CIFAR-10's python version (Krizhevsky 2009): five training batches of 10,000 images and one test batch
CIFAR10_BATCHES = {"train": tuple(f"data_batch_{k}" for k in range(1, 6)), "test": ("test_batch",)}


def _cifar10_batch(path: Path) -> LabelledImages:
    import pickle
    if not path.is_file():
        raise DataError(f"{path}: file not found (expected the folder cifar-10-batches-py of CIFAR-10's python "
                        "version)")
    try:
        with path.open("rb") as handle:
            batch = pickle.load(handle, encoding="bytes")
        data, labels = np.asarray(batch[b"data"], dtype=np.uint8), np.asarray(batch[b"labels"], dtype=np.uint8)
    except (pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, IndexError) as error:
        raise DataError(f"{path}: not a CIFAR-10 batch, truncated or corrupt ({type(error).__name__}: {error})") \
            from None
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data) or labels.max(initial=0) > 9:
        raise DataError(f"{path}: expected (n, 3072) pixels and n labels 0-9, found {data.shape} and "
                        f"{labels.shape}")
    return LabelledImages(data.reshape(-1, 3, 32, 32), labels)


def load_cifar10(split: str, folder: str | Path) -> LabelledImages:
    """CIFAR-10's ``"train"`` (50,000) or ``"test"`` (10,000) split from the python batches a user has (not
    shipped, not in Debian): images ``(n, 3, 32, 32)`` uint8, channels red, green, blue."""
    if split not in CIFAR10_BATCHES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found (expected cifar-10-batches-py of CIFAR-10's python version)")
    batches = [_cifar10_batch(folder / name) for name in CIFAR10_BATCHES[split]]
    return LabelledImages(np.concatenate([b.images for b in batches]), np.concatenate([b.labels for b in batches]))


#: the data sets known by name; any other folder of the MNIST layout is ``idx:FOLDER``
NAMED_DATASETS = ("fashion_mnist", "mnist")
#: the named data sets of the time-stepped networks (convolutional, any number of channels)
COLOUR_DATASETS = ("cifar10",)


def load_images(dataset: str, split: str, data_dir: str | Path | None = None) -> LabelledImages:
    """The ``split`` of an image data set named ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"`` or
    ``"idx:FOLDER"`` (``data_dir``: the folder holding ``mnist/``, Fashion-MNIST's folder or CIFAR-10's
    ``cifar-10-batches-py``; default the shipped MNIST and Debian's Fashion-MNIST; CIFAR-10 has none)."""
    if dataset.startswith("idx:"):
        return load_idx_folder(split, dataset[len("idx:"):])
    if dataset == "mnist":
        return load_mnist(split, data_dir)
    if dataset == "fashion_mnist":
        return load_fashion_mnist(split, data_dir if data_dir is not None else FASHION_MNIST_DIR)
    if dataset == "cifar10":
        if data_dir is None:
            raise DataError("cifar10 is not shipped: give --data FOLDER, the cifar-10-batches-py folder of "
                            "CIFAR-10's python version")
        return load_cifar10(split, data_dir)
    raise DataError(f"unknown data set {dataset!r}: expected mnist, fashion_mnist, cifar10 or idx:FOLDER")


NOISE_KINDS = ("none", "awgn", "awgn_contrast")


def degrade_images(images: np.ndarray, kind: str, rng: np.random.Generator, *, awgn_snr_db: float = 9.5,
                   contrast_scale: float = 0.5, awgn_contrast_snr_db: float = 12.0) -> np.ndarray:
    """n-MNIST-like copies of uint8 ``images`` (Basu et al. 2017): ``"awgn"`` adds white Gaussian noise at
    ``awgn_snr_db`` (over each image's mean squared intensity, pixels in [0, 1]); ``"awgn_contrast"`` first
    scales the intensities by ``contrast_scale``, then adds noise at ``awgn_contrast_snr_db``; ``"none"``
    returns the images. Results are clipped to [0, 1] and returned as uint8."""
    if kind not in NOISE_KINDS:
        raise ValueError(f"image noise must be one of {NOISE_KINDS}, got {kind!r}")
    if kind == "none":
        return images
    x = np.asarray(images, dtype=np.float64) / 255
    snr_db = awgn_snr_db
    if kind == "awgn_contrast":
        x, snr_db = x * contrast_scale, awgn_contrast_snr_db
    power = np.mean(x ** 2, axis=tuple(range(1, x.ndim)), keepdims=True)
    sigma = np.sqrt(power / 10 ** (snr_db / 10))
    noisy = np.clip(x + sigma * rng.standard_normal(x.shape), 0, 1)
    return np.round(noisy * 255).astype(np.uint8)
