"""fetch: checksums, atomic cache, cache hits, archives. Served from 127.0.0.1 only."""

import gzip
import hashlib
import http.server
import io
import os
import threading
import zipfile
from functools import partial
from pathlib import Path

import pytest

import seqae.data.download as dl
from seqae.data import fetch


class _Server:
    """A loopback HTTP server over one folder that counts the requests it answers."""

    def __init__(self, folder: Path):
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                hits.append(self.path)
                super().do_GET()

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(Handler, directory=str(folder))
        )
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def served(tmp_path):
    folder = tmp_path / "www"
    folder.mkdir()
    server = _Server(folder)
    yield folder, server
    server.close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_fetch_url_good_checksum_is_cached(served, tmp_path):
    www, server = served
    data = b"hello seqae\n" * 1000
    (www / "file.bin").write_bytes(data)
    cache = tmp_path / "cache"
    path = fetch(server.base + "file.bin", sha256=_sha(data), cache=cache)
    folder = cache / "downloads" / dl.url_key(server.base + "file.bin")
    assert path == folder / "file.bin" and path.read_bytes() == data
    assert len(server.hits) == 1
    again = fetch(server.base + "file.bin", sha256=_sha(data), cache=cache)
    assert again == path and len(server.hits) == 1  # the second fetch never hit the server
    assert _all_files(cache) == [path]  # no temporary files left
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # as open() makes it: shareable
    upper = fetch(server.base + "file.bin", sha256=" " + _sha(data).upper(), cache=cache)
    assert upper == path and len(server.hits) == 1  # a digest as other tools print it
    with pytest.raises(ValueError, match="not 64 hexadecimal digits"):
        fetch(server.base + "file.bin", sha256="abc", cache=cache)
    assert len(server.hits) == 1  # refused before any download


def test_two_urls_of_one_file_name_never_share_a_file(served, tmp_path):
    www, server = served
    for sub, data in (("a", b"first\n"), ("b", b"second\n")):
        (www / sub).mkdir()
        (www / sub / "x.csv").write_bytes(data)
    cache = tmp_path / "cache"
    a = fetch(server.base + "a/x.csv", cache=cache)
    b = fetch(server.base + "b/x.csv", cache=cache)
    assert a != b and a.read_bytes() == b"first\n" and b.read_bytes() == b"second\n"
    # a mistyped checksum for a file already cached: refused, and the good file is kept
    with pytest.raises(ValueError, match="sha256 mismatch"):
        fetch(server.base + "a/x.csv", sha256="1" * 64, cache=cache)
    assert a.read_bytes() == b"first\n"


def test_a_download_cut_short_is_refused_and_not_kept(tmp_path):
    class Short(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # says 1000 bytes, sends 500, hangs up
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 500)
            self.close_connection = True

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Short)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/x.bin"
        with pytest.raises(ValueError, match=r"connection closed .*before the end"):
            fetch(url, cache=tmp_path / "c")  # no sha256 to catch it: the length must
        assert _all_files(tmp_path / "c") == []  # nothing cached as a "verified" hit
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_fetch_bad_checksum_keeps_nothing(served, tmp_path):
    www, server = served
    data = b"tampered"
    (www / "evil.bin").write_bytes(data)
    cache = tmp_path / "cache"
    wrong = "0" * 64
    with pytest.raises(ValueError) as err:
        fetch(server.base + "evil.bin", sha256=wrong, cache=cache)
    msg = str(err.value)
    assert "evil.bin" in msg and wrong in msg and _sha(data) in msg and "\n" not in msg
    assert _all_files(cache) == []  # nothing half-written or unverified in the cache


def test_fetch_damaged_cache_entry_is_downloaded_again(served, tmp_path):
    www, server = served
    data = b"good bytes"
    (www / "f.bin").write_bytes(data)
    cache = tmp_path / "cache"
    path = fetch(server.base + "f.bin", sha256=_sha(data), cache=cache)
    path.write_bytes(b"damaged")
    assert fetch(server.base + "f.bin", sha256=_sha(data), cache=cache).read_bytes() == data
    assert len(server.hits) == 2


def test_fetch_missing_file_and_unknown_name(served, tmp_path):
    _, server = served
    with pytest.raises(ValueError, match=r"could not download .*HTTP 404"):
        fetch(server.base + "absent.bin", cache=tmp_path / "c")
    assert _all_files(tmp_path / "c") == []
    with pytest.raises(ValueError, match=r"unknown dataset 'mnst'.*did you mean 'mnist'"):
        fetch("mnst", cache=tmp_path / "c")
    with pytest.raises(ValueError, match="applies to URLs only"):
        fetch("mnist", sha256="0" * 64, cache=tmp_path / "c")


def test_fetch_named_dataset_and_regzipped_mirror(served, tmp_path, monkeypatch):
    www, server = served
    raw = bytes(range(256)) * 40
    canonical = gzip.compress(raw, mtime=0)
    mirror = gzip.compress(raw, compresslevel=1, mtime=12345)  # other .gz bytes, same content
    assert _sha(canonical) != _sha(mirror)
    (www / "a.gz").write_bytes(mirror)
    (www / "b.txt").write_bytes(b"b")
    files = (
        dl.RemoteFile(server.base + "a.gz", "a.gz", _sha(canonical), _sha(raw)),
        dl.RemoteFile(server.base + "b.txt", "sub/b.txt", _sha(b"b")),
    )
    monkeypatch.setitem(dl.DATASETS, "toy", dl.Dataset("toy", "toys/toy", "test set", files))
    cache = tmp_path / "cache"
    folder = fetch("toy", cache=cache)
    assert folder == cache / "toys" / "toy"
    assert (folder / "a.gz").read_bytes() == mirror and (folder / "sub" / "b.txt").exists()
    assert fetch("toy/sub/b.txt", cache=cache) == folder / "sub" / "b.txt"
    assert len(server.hits) == 2
    assert dl.dataset_location("toy", cache=cache) == folder
    (folder / "sub" / "b.txt").rename(folder / "sub" / "b2.txt")  # a name that only starts alike
    assert dl.dataset_location("toy", cache=cache) is None
    (folder / "sub" / "b2.txt").rename(folder / "sub" / "b.txt")
    (www / "a.gz").write_bytes(gzip.compress(raw + b"x"))  # content differs: rejected
    (folder / "a.gz").unlink()
    with pytest.raises(ValueError, match=r"a\.gz: sha256 mismatch .*expected " + _sha(canonical)):
        fetch("toy", cache=cache)
    assert not (folder / "a.gz").exists()


def test_fetch_archive_checks_each_table(served, tmp_path, monkeypatch):
    www, server = served
    table = "1\t0.5\t-1.5\n2\t2.0\t3.0\n"
    same_numbers = "  1.0000000e+00  5.0000000e-01 -1.5000000e+00\n 2 2 3\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("Toy/Toy_TRAIN.txt", same_numbers)
    (www / "toy.zip").write_bytes(buf.getvalue())
    digest = dl.table_sha256(table)
    assert digest == dl.table_sha256(same_numbers)  # formatting does not matter, numbers do
    assert digest != dl.table_sha256(table.replace("3.0", "3.5"))
    arch = dl.RemoteFile(
        server.base + "toy.zip", "toy.zip", None, extract=(("Toy_TRAIN.txt", "T.txt", digest),)
    )
    monkeypatch.setitem(dl.DATASETS, "arch", dl.Dataset("arch", "ucr/Toy", "zip", (arch,)))
    cache = tmp_path / "cache"
    folder = fetch("arch", cache=cache)
    assert (folder / "T.txt").read_text() == same_numbers
    assert _all_files(cache) == [folder / "T.txt"]  # the zip itself is not kept
    fetch("arch", cache=cache)
    assert len(server.hits) == 1
    (folder / "T.txt").write_text(table.replace("3.0", "3.5"))  # damaged in the cache
    fetch("arch", cache=cache)
    assert len(server.hits) == 2 and (folder / "T.txt").read_text() == same_numbers
    bad = dl.RemoteFile(
        server.base + "toy.zip", "toy.zip", None, extract=(("Toy_TRAIN.txt", "U.txt", "f" * 64),)
    )
    monkeypatch.setitem(dl.DATASETS, "arch", dl.Dataset("arch", "ucr/Bad", "zip", (bad,)))
    with pytest.raises(ValueError, match="numbers differ from the pinned release"):
        fetch("arch", cache=cache)
    assert _all_files(cache / "ucr" / "Bad") == []


def test_known_table_is_complete():
    assert set(dl.DATASETS) == {"mnist", "fashion-mnist", "nab", "ecg5000", "nasa"}
    assert len(dl.DATASETS["nab"].files) == 60  # 58 series + 2 label files
    assert len(dl.DATASETS["nasa"].files[1].extract) == 164  # 82 channels, train and test
    for ds in dl.DATASETS.values():
        for f in ds.files:
            assert f.url.startswith("http") and (f.sha256 or f.raw_sha256 or f.extract)
            for h in (f.sha256, f.raw_sha256, *(d for _, _, d in f.extract)):
                assert h is None or (len(h) == 64 and int(h, 16) >= 0)


def test_pinned_checksums_match_the_shared_copies():
    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not shared.is_dir():
        pytest.skip(f"{shared} not present (the shared datasets are not next to this checkout)")
    for f in dl.DATASETS["mnist"].files:  # the shared .gz were re-gzipped: content must match
        path = shared / "mnist" / f.path
        assert _sha(gzip.decompress(path.read_bytes())) == f.raw_sha256
    for f in dl.DATASETS["nab"].files[:3] + dl.DATASETS["nab"].files[-2:]:
        assert _sha((shared / "nab" / f.path).read_bytes()) == f.sha256
    for member, _, digest in dl.DATASETS["ecg5000"].files[0].extract:
        tsv = shared / "ucr" / "ECG5000" / member.replace(".txt", ".tsv")
        assert dl.table_sha256(tsv.read_text()) == digest
    labels, arrays = dl.DATASETS["nasa"].files
    nasa = shared / "nasa-smap-msl"
    assert _sha((nasa / labels.path).read_bytes()) == labels.sha256
    for member, _, digest in arrays.extract:
        assert dl.array_sha256(gzip.decompress((nasa / f"{member}.gz").read_bytes())) == digest


def _npy(arr) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_fetch_npy_archive_checks_numbers_not_bytes(served, tmp_path, monkeypatch):
    """telemanom's layout (data/train/X.npy, data/test/X.npy: the same file names in two
    folders): each member found by its path, checked by its numbers; one bad member and
    nothing lands."""
    import numpy as np

    from seqae.data import load_nasa

    www, server = served
    a = np.arange(12, dtype=np.float64).reshape(6, 2) / 7
    b = a[:, ::-1].copy()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("data/train/X-1.npy", _npy(a.astype(np.float32).astype(np.float64)))
        zf.writestr("data/test/X-1.npy", _npy(b))
    (www / "data.zip").write_bytes(buf.getvalue())
    labels = 'chan_id,spacecraft,anomaly_sequences,class,num_values\nX-1,MSL,"[[1, 2]]",[point],6\n'
    (www / "labeled_anomalies.csv").write_text(labels)
    f32 = a.astype(np.float32)
    assert dl.array_sha256(_npy(f32)) == dl.array_sha256(_npy(f32.astype(np.float64)))
    members = (
        ("train/X-1.npy", "train/X-1.npy", dl.array_sha256(_npy(f32))),
        ("test/X-1.npy", "test/X-1.npy", dl.array_sha256(_npy(b))),
    )
    files = (
        dl.RemoteFile(server.base + "labeled_anomalies.csv", "labeled_anomalies.csv",
                      _sha(labels.encode())),
        dl.RemoteFile(server.base + "data.zip", "data.zip", None, extract=members, members="npy"),
    )  # fmt: skip
    monkeypatch.setitem(dl.DATASETS, "toy", dl.Dataset("toy", "nasa-smap-msl", "npy", files))
    folder = fetch("toy", cache=tmp_path / "cache")
    ch = load_nasa("X-1", root=folder)
    np.testing.assert_array_equal(ch.train, f32)
    np.testing.assert_array_equal(ch.test, b.astype(np.float32))
    assert ch.events == [(1, 2)]
    bad = (members[0], (members[1][0], "test/X-1.npy", dl.array_sha256(_npy(a))))
    files = (files[0], dl.RemoteFile(server.base + "data.zip", "data.zip", None, extract=bad,
                                     members="npy"))  # fmt: skip
    monkeypatch.setitem(dl.DATASETS, "toy", dl.Dataset("toy", "nasa-bad", "npy", files))
    with pytest.raises(ValueError, match=r"test/X-1\.npy .*numbers differ"):
        fetch("toy", cache=tmp_path / "cache")
    assert not (tmp_path / "cache" / "nasa-bad" / "train").exists()


def test_cli_data_list_and_fetch(served, tmp_path):
    from click.testing import CliRunner

    from seqae.cli import cli

    runner = CliRunner()
    res = runner.invoke(cli, ["data", "list"])
    assert res.exit_code == 0, res.output
    assert [line.split()[0] for line in res.output.splitlines()] == list(dl.DATASETS)
    www, server = served
    (www / "x.csv").write_bytes(b"a,b\n1,2\n")
    cache = tmp_path / "cache"
    url = server.base + "x.csv"
    res = runner.invoke(
        cli, ["data", "fetch", url, "--sha256", _sha(b"a,b\n1,2\n"), "--cache", str(cache)]
    )
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == str(cache / "downloads" / dl.url_key(url) / "x.csv")
    assert res.stderr == "fetched x.csv (0.0 MB)\n"  # no terminal: one line per download
    again = runner.invoke(cli, ["data", "fetch", url, "--cache", str(cache), "--quiet"])
    assert again.exit_code == 0 and again.stderr == ""  # cached, and quiet
    quiet = runner.invoke(cli, ["data", "fetch", url, "--cache", str(tmp_path / "q"), "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout.strip().endswith("x.csv")
    res = runner.invoke(
        cli, ["data", "fetch", url, "--sha256", "1" * 64, "--cache", str(tmp_path / "c2")]
    )
    assert res.exit_code == 2 and "sha256 mismatch" in res.output and "Traceback" not in res.output
    assert res.output.count("\n") == 1  # the one error line: no "fetched" line before it


def test_a_damaged_gzip_body_is_unreadable_not_a_crash(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 20)  # bad block
    assert dl._sha256_file(path, gunzip=True) == "unreadable"
