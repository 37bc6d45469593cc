"""hapt: windows inside single labelled segments, subject-wise splits, counts per split and
class, zip and folder read alike, standardisation from training windows, missing/corrupt
data errors that name the options or the file."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from chainrule import data
from chainrule.data import hapt
from resources import require

COUNTS6 = {"train": [1301, 1163, 1065, 1354, 1451, 1464],
           "validation": [308, 269, 249, 341, 402, 385],
           "test": [648, 627, 566, 664, 729, 718]}
COUNTS12_ALL = [2257, 2059, 1880, 2359, 2582, 2567, 118, 70, 162, 133, 200, 129]


def _table(rows):
    return ("\n".join(" ".join(f"{v:.9f}" for v in r) for r in rows) + "\n").encode()


def _tiny(tmp_path):
    """A two-experiment RawData folder and the same files as a zip (nested one level)."""
    rng = np.random.default_rng(0)
    raw = tmp_path / "folder" / "RawData"
    raw.mkdir(parents=True)
    files = {}
    for exp, user, t in ((1, 1, 400), (2, 2, 300)):
        for kind in ("acc", "gyro"):
            files[f"{kind}_exp{exp:02d}_user{user:02d}.txt"] = _table(rng.normal(size=(t, 3)))
    # segments: 1-based inclusive; a 99-sample one gives no window; 1-150 and 151-250 touch
    files["labels.txt"] = (b"1 1 1 1 150\n1 1 5 151 250\n1 1 7 251 399\n2 2 2 11 110\n"
                           b"2 2 6 111 209\n")
    for n, b in files.items():
        (raw / n).write_bytes(b)
    zpath = tmp_path / "HAPT-RawData.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for n, b in files.items():
            z.writestr(f"HAPT Data Set/RawData/{n}", b)
    return raw.parent, zpath


def test_tiny_windows_stay_inside_segments_and_zip_equals_folder(tmp_path):
    folder, zpath = _tiny(tmp_path)
    a, b = hapt.windows(folder, (1, 2), "12"), hapt.windows(zpath, (1, 2), "12")
    for f in ("x", "y", "users", "experiments", "segments", "starts"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    # 0-based half-open: segment 0 is [0, 150): starts 0, 50; segment 1 [150, 250): 150;
    # segment 2 [250, 399): 250 only (300 + 100 > 399); segment 3 [10, 110): 10;
    # segment 4 [110, 209), 99 samples: none
    assert a.starts.tolist() == [0, 50, 150, 250, 10]
    assert a.y.tolist() == [0, 0, 4, 6, 1] and a.segments.tolist() == [0, 0, 1, 2, 3]
    assert hapt.windows(folder, (1, 2), "6").y.tolist() == [0, 0, 4, 1]   # activity 7 dropped
    rec, _ = hapt.read_raw(folder)
    for i in range(len(a)):
        np.testing.assert_array_equal(a.x[i], rec[(a.experiments[i], a.users[i])][
            a.starts[i]:a.starts[i] + 100])
    assert a.x.dtype == np.float32 and a.x.shape == (5, 100, 6)


def test_split_users_are_disjoint_and_cover_everyone():
    sets = [set(hapt.split_users(s)) for s in hapt.SPLITS]
    assert sets[2] == {2, 4, 9, 10, 12, 13, 18, 20, 24}
    assert hapt.val_users() == (8, 17, 21, 25) and len(sets[0]) == 17
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sets[0] | sets[1] | sets[2] == set(range(1, 31))
    with pytest.raises(ValueError, match="train, validation, test"):
        hapt.split_users("val")


def test_missing_data_error_names_the_options(tmp_path):
    with pytest.raises(data.DatasetNotFoundError) as e:
        data.load("hapt", "train", data_dir=tmp_path)
    msg = str(e.value)
    assert "HAPT-RawData.zip" in msg and "RawData" in msg and "CHAINRULE_DATA" in msg
    assert "data_dir" in msg and "cache" in msg
    with pytest.raises(data.DatasetNotFoundError, match="CHAINRULE_DATA"):
        hapt.load_windows("test", "12", data_dir=tmp_path)


def test_corrupt_files_name_the_file(tmp_path):
    bad = tmp_path / "HAPT-RawData.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(data.DataError, match="HAPT-RawData.zip: not a readable zip"):
        data.load("hapt", "train", data_dir=tmp_path)
    folder, _ = _tiny(tmp_path / "t")
    (folder / "RawData" / "gyro_exp02_user02.txt").write_bytes(b"1 2\n3 4\n")
    with pytest.raises(data.DataError, match="gyro_exp02_user02.txt: expected 3 columns"):
        hapt.windows(folder, (2,))


def test_standardise_uses_given_statistics():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=(50, 100, 6)).astype(np.float32)
    mean, std = hapt.channel_stats(x)
    z = hapt.standardise(x, mean, std)
    assert z.dtype == np.float32 and mean.shape == std.shape == (6,)
    np.testing.assert_allclose(z.reshape(-1, 6).mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.reshape(-1, 6).std(0), 1.0, atol=1e-5)


@pytest.fixture(scope="module")
def real():
    require("hapt")
    return {s: data.load("hapt", s) for s in hapt.SPLITS}


def test_real_counts_per_split_and_class(real):
    for s, ds in real.items():
        assert hapt.class_counts(ds.y, 6) == COUNTS6[s], s
        assert ds.x.shape == (sum(COUNTS6[s]), 100, 6) and ds.x.dtype == np.float32
        assert ds.classes == hapt.ACTIVITIES[:6] and ds.layout == "windows (N, T, C)"
    w12 = [hapt.load_windows(s, "12")[0] for s in hapt.SPLITS]
    total = np.sum([hapt.class_counts(w.y, 12) for w in w12], axis=0)
    assert total.tolist() == COUNTS12_ALL


def test_real_windows_never_cross_segments_or_subjects(real):
    rec, table = hapt.read_raw(data.resolve("hapt", "train").files[0])
    seen = {}
    for s in hapt.SPLITS:
        w, _ = hapt.load_windows(s, "12")
        seg = table[w.segments]
        assert (seg[:, 1] == w.users).all() and (seg[:, 0] == w.experiments).all()
        assert (seg[:, 2] - 1 == w.y).all()                          # the segment's label
        assert (w.starts >= seg[:, 3] - 1).all() and (w.starts + 100 <= seg[:, 4]).all()
        assert set(w.users.tolist()) <= set(hapt.split_users(s))
        for u in set(w.users.tolist()):
            assert seen.setdefault(u, s) == s                        # no user in two splits
        i = len(w) // 2
        np.testing.assert_array_equal(
            w.x[i], rec[(w.experiments[i], w.users[i])][w.starts[i]:w.starts[i] + 100])
    assert len(seen) == 30


def test_download_is_checked_by_content_and_kept_only_when_it_passes(tmp_path, monkeypatch):
    """UCI publishes no checksum for the official archive: the download is kept only when it
    holds exactly the published RawData (served here from the real copy, no network)."""
    import io
    import urllib.error

    from chainrule.data import downloader
    from chainrule.data.errors import DataError

    real = data.resolve("hapt", "train")
    if not real.ok:
        require("hapt")
    payload = {"HAPT%20Data%20Set.zip": real.files[0].read_bytes()}
    calls = []

    def urlopen(url, timeout):
        calls.append(url)
        name = url.rsplit("/", 1)[1]
        if name not in payload:
            raise urllib.error.URLError("not found")
        return io.BytesIO(payload[name])

    monkeypatch.setattr(downloader, "_urlopen", urlopen)
    monkeypatch.delenv("CHAINRULE_DATA", raising=False)
    monkeypatch.setenv("CHAINRULE_CACHE", str(tmp_path / "cache"))
    [path] = data.download("hapt")
    assert path == tmp_path / "cache" / "hapt" / "HAPT Data Set.zip"
    assert calls == [("https://archive.ics.uci.edu/ml/machine-learning-databases/00341/"
                      "HAPT%20Data%20Set.zip")]
    assert len(data.load("hapt", "test")) == sum(COUNTS6["test"])
    assert data.download("hapt") == [path] and len(calls) == 1      # kept: it passes
    # a damaged archive (one sensor file missing) is refused, and nothing is left behind
    def damaged(name, change):
        out = tmp_path / name
        with zipfile.ZipFile(real.files[0]) as src, zipfile.ZipFile(out, "w") as dst:
            for item in src.infolist():
                body = change(item.filename, src.read(item))
                if body is not None:
                    dst.writestr(item, body)
        return out

    no_acc = damaged("no_acc.zip", lambda n, b: None if n.endswith("acc_exp61_user30.txt")
                     else b)
    payload["HAPT%20Data%20Set.zip"] = no_acc.read_bytes()
    with pytest.raises(DataError, match="content check failed.*lacks its acc or gyro"):
        data.download("hapt", data_dir=tmp_path / "other")
    assert not any((tmp_path / "other").iterdir())
    short = damaged("short.zip", lambda n, b: b"".join(b.splitlines(True)[:-1])
                    if n.endswith("labels.txt") else b)                  # one segment fewer
    with pytest.raises(DataError, match=r"1213.*the published RawData has \(30, 61, 1214"):
        hapt.verify_archive(short)
