import gzip
import shutil

import numpy as np
import pytest

from brainnets.datasets import (FASHION_MNIST_DIR, DataError, default_data_dir, load_fashion_mnist, load_images,
                                load_mnist)


def test_mnist_loads_with_the_documented_statistics(mnist_train, mnist_test):
    assert mnist_train.images.shape == (60000, 28, 28) and mnist_test.images.shape == (10000, 28, 28)
    assert np.bincount(mnist_train.labels).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(mnist_test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert mnist_train.images.mean() == pytest.approx(33.318, abs=1e-3)


@pytest.fixture
def mnist_copy(tmp_path):
    shutil.copytree(default_data_dir() / "mnist", tmp_path / "mnist")
    return tmp_path


def test_missing_file_is_named(mnist_copy):
    (mnist_copy / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: file not found"):
        load_mnist("test", mnist_copy)


def test_truncated_file_is_named(mnist_copy):
    path = mnist_copy / "mnist" / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100000])
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: cannot decompress"):
        load_mnist("test", mnist_copy)


def test_corrupt_content_fails_the_checksum(mnist_copy):
    path = mnist_copy / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] = (raw[100] + 1) % 10
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz: SHA-256"):
        load_mnist("test", mnist_copy)


def test_unknown_split():
    with pytest.raises(ValueError, match="split"):
        load_mnist("validation")


def test_fashion_mnist_missing_says_which_package_to_install(tmp_path):
    with pytest.raises(DataError, match="install Debian's dataset-fashion-mnist"):
        load_fashion_mnist("test", tmp_path / "nowhere")


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_debian_package_is_verified():
    test = load_fashion_mnist("test")
    assert test.images.shape == (10000, 28, 28) and sorted(set(test.labels)) == list(range(10))


def write_idx(path, array):
    """A gzip-compressed IDX file of unsigned bytes."""
    header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def idx_folder(folder, images, labels):
    folder.mkdir()
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


def test_any_idx_folder_of_the_mnist_layout_loads(tmp_path, rng):
    images = rng.integers(0, 256, size=(7, 28, 28))
    folder = idx_folder(tmp_path / "mine", images, np.arange(7))
    data = load_images(f"idx:{folder}", "test")
    assert np.array_equal(data.images, images) and data.labels.tolist() == list(range(7))


def test_an_idx_folder_is_checked_for_shape_and_label_range(tmp_path, rng):
    wrong_size = idx_folder(tmp_path / "size", rng.integers(0, 256, size=(3, 32, 32)), np.arange(3))
    with pytest.raises(DataError, match="do not match"):
        load_images(f"idx:{wrong_size}", "train")
    wrong_labels = idx_folder(tmp_path / "labels", rng.integers(0, 256, size=(3, 28, 28)), np.array([0, 1, 12]))
    with pytest.raises(DataError, match="labels must be digits 0-9"):
        load_images(f"idx:{wrong_labels}", "train")
    with pytest.raises(DataError, match="folder not found"):
        load_images(f"idx:{tmp_path / 'nowhere'}", "train")


def test_an_unknown_data_set_is_named():
    with pytest.raises(DataError, match="unknown data set 'cifar'"):
        load_images("cifar", "train")


def test_cifar10_loads_from_its_python_batches(cifar10_folder):
    folder = cifar10_folder(4)
    train, test = load_images("cifar10", "train", folder), load_images("cifar10", "test", folder)
    assert train.images.shape == (20, 3, 32, 32) and test.images.shape == (4, 3, 32, 32)
    assert train.images.dtype == np.uint8 and train.labels.tolist() == [0, 1, 2, 3] * 5
    # the batch's rows are 1024 red, then green, then blue pixels of a 32 x 32 image
    import pickle
    first = pickle.loads((folder / "test_batch").read_bytes())[b"data"][0]
    assert np.array_equal(test.images[0, 1], first[1024:2048].reshape(32, 32))


def test_cifar10_is_not_shipped_and_bad_batches_are_named(cifar10_folder, tmp_path):
    with pytest.raises(DataError, match="give --data FOLDER"):
        load_images("cifar10", "train")
    with pytest.raises(DataError, match="folder not found"):
        load_images("cifar10", "train", tmp_path / "nowhere")
    folder = cifar10_folder(2)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError, match="data_batch_3: file not found"):
        load_images("cifar10", "train", folder)
    (folder / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="test_batch: not a CIFAR-10 batch"):
        load_images("cifar10", "test", folder)
