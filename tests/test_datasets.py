import gzip
import shutil

import numpy as np
import pytest

from brainnets.datasets import FASHION_MNIST_DIR, DataError, default_data_dir, load_fashion_mnist, load_mnist


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
