"""Datasets, mini-batches and preprocessing.

    ds = cr.data.load("fashion-mnist", "train")        # Dataset: x (N,1,28,28) float32, y int64
    x_tr, y_tr, x_val, y_val = cr.data.train_val_split(ds.x, ds.y, 0.1, rng=0)
    loader = cr.data.DataLoader(x_tr, y_tr, 32, rng=0)
    for xb, yb in loader: ...

``cr.data.describe()`` lists every dataset and split with where it would load from;
nothing is ever downloaded unless asked (``download=True`` or ``cr.data.download(name)``).
"""

from . import cifar, transforms
from .cifar_writer import write_cifar10
from .dataset import Dataset
from .downloader import md5sum
from .errors import DataError, DatasetNotFoundError
from .idx import read_idx, write_idx
from .loader import DataLoader, split_indices, train_val_split
from .preprocess import Standardizer, add_bias_column, flatten, one_hot
from .registry import SPECS, DatasetSpec
from .sources import (
    Resolution,
    available,
    cache_root,
    describe,
    download,
    get_spec,
    input_shape,
    load,
    names,
    resolve,
)

__all__ = [
    "SPECS", "DataError", "DataLoader", "Dataset", "DatasetNotFoundError", "DatasetSpec",
    "Resolution", "Standardizer", "add_bias_column", "available", "cache_root", "cifar",
    "describe", "download", "flatten", "get_spec", "input_shape", "load", "md5sum", "names",
    "one_hot", "read_idx", "resolve", "split_indices", "train_val_split", "transforms",
    "write_cifar10", "write_idx",
]
