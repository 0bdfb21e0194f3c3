"""Downloads for users with internet: a table of known datasets, checksummed and cached.

``fetch`` streams to a temporary file beside the target, checks its sha256, and renames it into
place atomically, so the cache never holds a half-written or unverified file; a cached file is
re-checked (locally) and reused without touching the network. The cache layout matches the
shared data folder, so ``load_mnist``, ``load_nab`` and ``load_ucr`` find fetched files.

Checksums: MNIST and Fashion-MNIST .gz are the canonical files' sha256 (as published in the
TensorFlow Datasets checksum lists); MNIST also accepts a re-gzipped mirror whose *decompressed*
bytes match. NAB files are pinned to one NAB commit. ECG5000 comes as a zip whose bytes are not
pinned; its two extracted tables are checked by the sha256 of their parsed numbers instead.
NASA SMAP/MSL: telemanom's label file pinned at one commit; its data zip unpinned, each of its
164 arrays checked by the sha256 of its numbers (``nasa_sha256.txt``).
"""

from __future__ import annotations

import difflib
import gzip
import hashlib
import http.client
import io
import os
import re
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqae._files import publish, written
from seqae.data.paths import cache_dir, shared_data_dir
from seqae.errors import SeqaeError

_CHUNK = 1 << 20
_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: where it comes from and how to check it."""

    url: str
    path: str  # where it lands, relative to the dataset's folder in the cache
    sha256: str | None  # of the bytes as served; None: not pinned (see the other checks)
    raw_sha256: str | None = None  # of the gunzipped bytes: a re-gzipped mirror still passes
    # For an archive: (member path, output path, sha256 of its parsed numbers) per member; a
    # member path matches the archive entry it ends (``train/A-1.npy`` ~ ``data/train/A-1.npy``).
    extract: tuple[tuple[str, str, str], ...] = ()
    members: str = "table"  # how members' numbers are read: "table" (text) or "npy"


@dataclass(frozen=True)
class Dataset:
    """A known dataset: its files and the folder (under the cache) where loaders look."""

    name: str
    folder: str  # relative to the cache and to the shared data folder
    summary: str
    files: tuple[RemoteFile, ...]


def _idx_files(base: str, table: str) -> tuple[RemoteFile, ...]:
    rows = (line.split() for line in table.strip().splitlines())
    return tuple(
        RemoteFile(base + f + ".gz", f + ".gz", gz, None if raw == "-" else raw)
        for f, gz, raw in rows
    )


# <file> <sha256 of the .gz> <sha256 of the decompressed file, or ->
# MNIST: canonical .gz sha256 from TensorFlow Datasets' url_checksums/mnist.txt; the decompressed
# sha256 were computed from the shared copies, whose md5 equal the canonical ones.
_MNIST = _idx_files(
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    """
train-images-idx3-ubyte 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
train-labels-idx1-ubyte 3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
t10k-images-idx3-ubyte 8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
t10k-labels-idx1-ubyte f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6 ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
""",  # noqa: E501
)

# Fashion-MNIST: canonical .gz sha256 from TensorFlow Datasets' url_checksums/fashion_mnist.txt.
_FASHION = _idx_files(
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    """
train-images-idx3-ubyte 3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84 -
train-labels-idx1-ubyte a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845 -
t10k-images-idx3-ubyte 346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073 -
t10k-labels-idx1-ubyte 67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5 -
""",
)

# NAB at commit ea702d75 (2024-12-03, MIT); its data/ and labels/ are unchanged since 2017.
_NAB_BASE = (
    "https://raw.githubusercontent.com/numenta/NAB/ea702d75cc2258d9d7dd35ca8e5e2539d71f3140/"
)
# "<sha256> <path>": the two label files, then the 58 series under data/
_NAB_FILES = """
1e1fbc4601321aad8d0f8b3784c8134299379f68f6c1f7777565f8ffd57ab6b1 labels/combined_windows.json
98724014c162fcfd4be605683517f194051a54e98756c53667bd33ddbc644d9b labels/combined_labels.json
ccb7743ac2de8ca110db4af796d11ba31a23ad448a28e353a935c15f637756bc data/artificialNoAnomaly/art_daily_no_noise.csv
662ff0a295b81eb0ff8e81116a54a497cd6f6b07c19c7a5ea72cce494913ce62 data/artificialNoAnomaly/art_daily_perfect_square_wave.csv
c4b304229f69f108eaa024fb2406fcd4510c5c5d95cd0053e2da6989682e4e6d data/artificialNoAnomaly/art_daily_small_noise.csv
1cc10761ddd6d55fb5f0d9cfc73610416abbb120ee14bb65eff288509a463397 data/artificialNoAnomaly/art_flatline.csv
ad455adeaf06852222500955f2aefe6bd389cc762ef68e7102ee543209c8607f data/artificialNoAnomaly/art_noisy.csv
ea5df125947e9ee2b977ac3d341f3c2a029588862af97cae4a654fc56e838702 data/artificialWithAnomaly/art_daily_flatmiddle.csv
4af31802e87dff4b4ba3ceb21714ba9d905f7888e1f53d47cc6dd4f856f9debc data/artificialWithAnomaly/art_daily_jumpsdown.csv
f79f92b93ee4f9c10e2dc552505e8880b0c618639ed5e0f9816e044b75c26456 data/artificialWithAnomaly/art_daily_jumpsup.csv
65c85d1834376ed5e622f01721d478609577ea0df0a067c5a5ebe5edea03b077 data/artificialWithAnomaly/art_daily_nojump.csv
0959d8871d5c1a3fc3120fb7421e4ef113fffb434af2889085b52aebdb69360c data/artificialWithAnomaly/art_increase_spike_density.csv
99f7130e54c7c3e818df8e3bdc0974cd241914bb14a10a9c3fa7c1374125d224 data/artificialWithAnomaly/art_load_balancer_spikes.csv
ab446fbd8b9f37507eb2fdb06315826d8daeef02e241133ce06e0ee571ba53d9 data/realAWSCloudwatch/ec2_cpu_utilization_24ae8d.csv
8942e498de7b40f1b4a6d802755592c09b8fb73ce8f658763a09cb9ea1ea94ac data/realAWSCloudwatch/ec2_cpu_utilization_53ea38.csv
01613e6f632d067f11a5dfd40a188b0789752b388d9bc77a398bd06333878a76 data/realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv
90ceabd570b449241ee24ff8a116a793979b7671ce4490707311bfea0e0aae1f data/realAWSCloudwatch/ec2_cpu_utilization_77c1ca.csv
d768419037c9db269343822957314f57ee21a7d9a4d41df2add0d1ba45ba84de data/realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv
749a15c2e1a4543c21fee9cbf3338cd8a7ed5f5f8a1308b9b099b06c2c66e66b data/realAWSCloudwatch/ec2_cpu_utilization_ac20cd.csv
d936cea74682ed43ac96b778352d7de294c0b0c168f4a7e6817162346cdb28c1 data/realAWSCloudwatch/ec2_cpu_utilization_c6585a.csv
f3433f8171f4dcea86c0c7af9996d0f166f812fa0f4567f1d5cd85d2d2cd69b4 data/realAWSCloudwatch/ec2_cpu_utilization_fe7f93.csv
ce3d6c6a652ed7c31a6dd3727a36e128fcac6fb2381c63267ad0fbc02eccd9df data/realAWSCloudwatch/ec2_disk_write_bytes_1ef3de.csv
a0e734a66098bb81833835f0839dadafbc8ae829c51494670ee8849e46eb5b63 data/realAWSCloudwatch/ec2_disk_write_bytes_c0d644.csv
39104b08f2e0a673b5137eb7681897fcadf0955fedf565740a6a94edc63a81a4 data/realAWSCloudwatch/ec2_network_in_257a54.csv
c27ef93f582af63bf42e80d804764cbe64ae987620f3cfab5477d6ebb3c6157e data/realAWSCloudwatch/ec2_network_in_5abac7.csv
74c26574a01ca9fb89dddb5021e2e13c3a93eb25dc640438a9acb1ceb00f1021 data/realAWSCloudwatch/elb_request_count_8c0756.csv
86a0abe9d58e376858d2fd4f4a438f1997e24c64a09e5af03accd4e1b372ac47 data/realAWSCloudwatch/grok_asg_anomaly.csv
f115fbe6542159eed5612445bfa620708a28ab6b41349d1432bb15c3a3b8414d data/realAWSCloudwatch/iio_us-east-1_i-a2eb1cd9_NetworkIn.csv
d5df979ef85928769a016cd0f935919d8c2a113926e21e1eb3a5001d688760e2 data/realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv
6b712b922ab3b3404c5a629d64a570c390c99471ee8b9b0ff7665f553fda92c1 data/realAWSCloudwatch/rds_cpu_utilization_e47b3b.csv
d869ab165254f3ee77ee21fd9fab2be1d07c1f80b8133cf01bbaf2d768c2ac64 data/realAdExchange/exchange-2_cpc_results.csv
1f01b9438566d2fe1ac446faa202a395ac86db9240a1955bc1f118c8eada2a19 data/realAdExchange/exchange-2_cpm_results.csv
e70b24dba107a2589657cb3feb9ca5605b4f3f7de49ff445f32f5991bc0bdbe5 data/realAdExchange/exchange-3_cpc_results.csv
74d354a94fb1730e14b469c7c1c6e99c2ad69af53afdb85f65220bd3cf01ce4a data/realAdExchange/exchange-3_cpm_results.csv
d4c13abd6f28594dc446f22106562ebe917fdbe76170f60a500c2a402ecc09e2 data/realAdExchange/exchange-4_cpc_results.csv
4e5c955b632145b77b93fba4a5e3bf615d47e00416e17091d64e05ae109c760e data/realAdExchange/exchange-4_cpm_results.csv
230b68ccca20f59d562afd5d24ad52939c9b784386bed0054018358bf9120581 data/realKnownCause/ambient_temperature_system_failure.csv
58ba65dc0737cfbac11b51514476d50c438d44011232144bb8d93f392df58f9f data/realKnownCause/cpu_utilization_asg_misconfiguration.csv
98378580aa80157e057c61d59d81daddccc6c65a2c0c800e3f01f603b8215c3f data/realKnownCause/ec2_request_latency_system_failure.csv
92bf5b87fc7f9bba8ca0b7ec63ccaac8cb4a1371a258e8c29a10ae9c018d82a4 data/realKnownCause/machine_temperature_system_failure.csv
d8fa6f7f0734bf5c8be12c52a94e20a82664c397d9dec4449156bd453d32856d data/realKnownCause/nyc_taxi.csv
47b110baa8e3636574c1033dda1cce780873647fab58223d159d4fee6f180e86 data/realKnownCause/rogue_agent_key_hold.csv
9797cfef477c13306f7a33874ab4d6cf700f8f2c7e5825a2a5bc02004370909a data/realKnownCause/rogue_agent_key_updown.csv
38e70e9ead8227fd023bff6e93247d5bc01ee008f781b921a156962419b399bb data/realTraffic/TravelTime_387.csv
7c174adfc457b201cd111d60688f7ec37eb7201c8080790dc41eeff477bd7345 data/realTraffic/TravelTime_451.csv
cd357d7820d675074270fd976d4af1fc1e7854ecb764783028cbcb18d980c91d data/realTraffic/occupancy_6005.csv
5663a8122a300360eb51fbbd0f21706da05af1af55262926d6a226bb6d071704 data/realTraffic/occupancy_t4013.csv
7976e7596cd1e579696c737576e96a26fe041484472ed7d0a463ce2b094d7aa7 data/realTraffic/speed_6005.csv
15ba994384730cb5a2e6818f17ded1430b40d92eb7a08e5b1a48a445c8c350f6 data/realTraffic/speed_7578.csv
fa5532d6f7db36cadc73e657fd4dfef05cb1ec44d4010243b314d3f1bbd6a7b5 data/realTraffic/speed_t4013.csv
826f5cf404c2890784a7824f7102fd00cb134a4948e12e44ec320d095cbbc217 data/realTweets/Twitter_volume_AAPL.csv
234f5e63f19a62720dfb7ccfd6ecc8349b94d93b33ef8aafbdb17edda0b654f3 data/realTweets/Twitter_volume_AMZN.csv
e7133bf26479623d58fc7367107aea1cd7df6020420dece48b0eee4d26cdb28a data/realTweets/Twitter_volume_CRM.csv
f0bdc89cba3dd2265b47069187c750eeae18ef48f76f86067ee26ea1af9c3114 data/realTweets/Twitter_volume_CVS.csv
a7096bd646759486bda6796b5600cd33a4590f0842bf274ea7acba001b3ba591 data/realTweets/Twitter_volume_FB.csv
3a39cc23d1ff6a0f234b55298d0c46c21d2e94ddb81a0dad9e1e46e3aaa9ec90 data/realTweets/Twitter_volume_GOOG.csv
4309bd56d28ddcbdc168e207da9717395fa2e9f74dba41fa768e0f7da8a116fa data/realTweets/Twitter_volume_IBM.csv
f3aa8157043c6569911031535bd1f7a73b428b5a2d95238d79b9d5b88ceebbd2 data/realTweets/Twitter_volume_KO.csv
18d2804d6a5dae63fe711baaba9242dce38a32bfade3dcdee1d8a7c1a866e41b data/realTweets/Twitter_volume_PFE.csv
be50f06bbb9d020f37653c8c5cf19af63f77aa0019d8cf10849d91f4af455af4 data/realTweets/Twitter_volume_UPS.csv
"""  # noqa: E501
_NAB = tuple(
    RemoteFile(_NAB_BASE + p, p, h)
    for h, p in (line.split() for line in _NAB_FILES.strip().splitlines())
)

# ECG5000 as the UCR/UEA archive site's zip (UCR 2015 .txt tables inside). The zip's bytes are
# not pinned; each table's numbers must equal those of the UCR 2018 .tsv release (the shared
# copy), compared as float64 with the label column first.
_ECG5000 = (
    RemoteFile(
        "https://www.timeseriesclassification.com/aeon-toolkit/ECG5000.zip",
        "ECG5000.zip",
        None,
        extract=(
            (
                "ECG5000_TRAIN.txt",
                "ECG5000_TRAIN.txt",
                "123917cea06fe6e10ff4fadd2bd7f80b6b1d1b23962e5476e12ca7df1df147a1",
            ),
            (
                "ECG5000_TEST.txt",
                "ECG5000_TEST.txt",
                "31a5df1aec3d842252f13e76e866ade2933f372f30ee9608fc463691e06f3d58",
            ),
        ),
    ),
)

# NASA SMAP/MSL as telemanom publishes it (Hundman et al., KDD 2018): the data zip on S3 (its
# bytes not pinned; each array's numbers are, see nasa_sha256.txt) and the label file at the
# telemanom commit the shared copy matches byte for byte.
_TELEMANOM = (
    "https://raw.githubusercontent.com/khundman/telemanom/2e6c5b6c3558e7835601519b7bdef37c649bdbdc/"
)


def _nasa_files() -> tuple[RemoteFile, ...]:
    from importlib import resources

    text = (resources.files("seqae.data") / "nasa_sha256.txt").read_text(encoding="ascii")
    rows = [ln.split() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    labels = RemoteFile(
        _TELEMANOM + "labeled_anomalies.csv",
        "labeled_anomalies.csv",
        "057ce2d6c8875982bf4e5404aefea14efdcbce413d80826d2b737c95b59b7539",
    )
    arrays = RemoteFile(
        "https://s3-us-west-2.amazonaws.com/telemanom/data.zip",
        "data.zip",
        None,
        extract=tuple((path, path, digest) for digest, path, _shape in rows),
        members="npy",
    )
    return labels, arrays


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("mnist", "mnist", "MNIST digits, 60k train + 10k test, IDX .gz", _MNIST),
        Dataset("fashion-mnist", "fashion-mnist", "Fashion-MNIST, 60k + 10k, IDX .gz", _FASHION),
        Dataset("nab", "nab", "Numenta Anomaly Benchmark: 58 series + labels", _NAB),
        Dataset("ecg5000", "ucr/ECG5000", "UCR ECG5000: 500 + 4500 series of 140", _ECG5000),
        Dataset(
            "nasa",
            "nasa-smap-msl",
            "NASA SMAP/MSL telemetry (telemanom): 82 channels, train/test + labels",
            _nasa_files(),
        ),
    )
}


def _sha256_file(path: Path, gunzip: bool = False) -> str:
    h = hashlib.sha256()
    opener = gzip.open if gunzip else open
    try:
        with opener(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
    except (OSError, EOFError, zlib.error):  # not gzip, truncated, damaged: matches nothing
        return "unreadable"
    return h.hexdigest()


def table_sha256(text: str) -> str:
    """sha256 of a label-first numeric table's numbers as float64 (N, 1 + T), row by row.

    It identifies the numbers whatever the separators or number formatting of the file.
    """
    try:
        rows = [
            np.array([float(t) for t in re.split(r"[,\s]+", line.strip())])
            for line in text.splitlines()
            if line.strip()
        ]
    except ValueError:
        return "unreadable"
    if not rows or len({len(r) for r in rows}) != 1:
        return "unreadable"
    return hashlib.sha256(np.stack(rows).astype("<f8").tobytes()).hexdigest()


def array_sha256(blob: bytes) -> str:
    """sha256 of a ``.npy`` file's numbers as little-endian float64 in C order (whatever its
    header, dtype or writer); "unreadable" when it is not a numeric ``.npy``."""
    try:
        arr = np.load(io.BytesIO(blob), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        return "unreadable"
    if arr.dtype.kind not in "fiub":
        return "unreadable"
    return hashlib.sha256(np.ascontiguousarray(arr, "<f8").tobytes()).hexdigest()


def _check(path: Path, f: RemoteFile) -> tuple[bool, str]:
    """(ok, sha256 of the file as stored) against the file's pinned checksums."""
    got = _sha256_file(path)
    if f.sha256 is None and f.raw_sha256 is None:
        return True, got
    if f.sha256 is not None and got == f.sha256:
        return True, got
    if f.raw_sha256 is not None and _sha256_file(path, gunzip=True) == f.raw_sha256:
        return True, got
    return False, got


def _atomic_write(dest: Path, data: bytes) -> None:
    with written(dest, suffix=".part") as tmp:
        Path(tmp).write_bytes(data)


def _stream(url: str, dest: Path, progress: bool = False) -> Path:
    """Download ``url`` into a new temporary file beside ``dest``; return the temporary path.

    ``progress``: a bar on a terminal (the caller says when a file is in: :func:`_done`)."""
    from tqdm.auto import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    request = urllib.request.Request(url, headers={"User-Agent": "seqae-data-fetch"})
    try:
        with os.fdopen(fd, "wb") as fh, urllib.request.urlopen(request, timeout=_TIMEOUT_S) as r:
            size = r.headers.get("Content-Length")
            total = int(size) if size is not None and size.isdigit() else None
            got = 0
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=dest.name,
                leave=False,
                disable=not (progress and sys.stderr.isatty()),
            ) as bar:
                while chunk := r.read(_CHUNK):
                    fh.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
            if total is not None and got != total:
                # a connection closed early: read() just ends, it does not raise
                raise http.client.IncompleteRead(b"", int(size) - got)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, urllib.error.HTTPError):
            reason = f"HTTP {exc.code} {exc.reason}"
        elif isinstance(exc, http.client.IncompleteRead):
            short = f"{exc.expected} bytes " if exc.expected else ""
            reason = f"the connection closed {short}before the end"
        else:
            reason = getattr(exc, "reason", exc)
        raise SeqaeError(
            f"could not download {url} ({reason}); check the network, or put the file at {dest}"
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _done(path: Path, progress: bool, name: str | None = None) -> None:
    """Without a terminal, one line on stderr per file downloaded and checked."""
    if progress and not sys.stderr.isatty():
        size = path.stat().st_size / 1e6
        print(f"fetched {name or path.name} ({size:.1f} MB)", file=sys.stderr)


def _get(f: RemoteFile, folder: Path, progress: bool = False) -> Path:
    """Make ``f`` present and verified under ``folder``; return its path (an archive's first)."""
    if f.extract:
        return _get_archive(f, folder, progress)
    dest = folder / f.path
    if dest.is_file() and _check(dest, f)[0]:
        return dest  # a verified cache hit: no network
    # stale or damaged: fetched again, and replaced only by a download that passes its check
    tmp = _stream(f.url, dest, progress)
    try:
        ok, got = _check(tmp, f)
        if not ok:
            expected = f.sha256 or f"(decompressed) {f.raw_sha256}"
            raise SeqaeError(
                f"{dest.name}: sha256 mismatch for {f.url}: expected {expected}, got {got}; "
                "nothing was kept, try again or check the source"
            )
        publish(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _done(dest, progress)
    return dest


def _member_digest(blob: bytes, members: str) -> str:
    if members == "npy":
        return array_sha256(blob)
    return table_sha256(blob.decode("ascii", errors="replace"))


def _member_ok(path: Path, digest: str, members: str) -> bool:
    """Whether an extracted file is there and holds the pinned numbers (a damaged one is
    fetched again)."""
    try:
        return _member_digest(path.read_bytes(), members) == digest
    except OSError:
        return False


def _get_archive(f: RemoteFile, folder: Path, progress: bool = False) -> Path:
    outs = [folder / out for _, out, _ in f.extract]
    if all(
        _member_ok(p, digest, f.members) for p, (_, _, digest) in zip(outs, f.extract, strict=True)
    ):
        return outs[0]  # extracted before, and each output's numbers re-checked here
    tmp = _stream(f.url, folder / f.path, progress)
    try:
        ok, got = _check(tmp, f)
        if not ok:
            raise SeqaeError(
                f"{f.path}: sha256 mismatch for {f.url}: expected {f.sha256}, got {got}; "
                "nothing was kept"
            )
        try:
            zf = zipfile.ZipFile(tmp)
        except zipfile.BadZipFile:
            raise SeqaeError(f"{f.url} is not a zip archive; nothing was kept") from None
        with zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            blobs = []
            for member, out, digest in f.extract:
                hits = [n for n in names if n == member or n.endswith("/" + member)]
                if not hits:
                    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
                    raise SeqaeError(f"{f.url} has no {member} (it has {shown})")
                try:
                    blob = zf.read(hits[0])
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise SeqaeError(
                        f"{member} in {f.url} is damaged ({exc}); nothing was kept, try again"
                    ) from None
                got = _member_digest(blob, f.members)
                if got != digest:
                    raise SeqaeError(
                        f"{member} from {f.url}: numbers differ from the pinned release "
                        f"(expected numbers sha256 {digest}, got {got}); nothing was kept"
                    )
                blobs.append((folder / out, blob))
        for path, blob in blobs:  # every member is checked before any lands in the cache
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, blob)
        _done(tmp, progress, Path(f.path).name)  # the archive, checked and unpacked
    finally:
        tmp.unlink(missing_ok=True)
    return outs[0]


def _is_url(s: str) -> bool:
    return urllib.parse.urlsplit(s).scheme in ("http", "https", "ftp", "file")


def url_key(url: str) -> str:
    """The folder of ``<cache>/downloads`` that holds the file of ``url``."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def fetch(
    name_or_url: str,
    sha256: str | None = None,
    cache: str | Path | None = None,
    progress: bool = False,
) -> Path:
    """Download a known dataset, one of its files, or any URL into the cache; return its path.

    - a dataset name ("mnist", "fashion-mnist", "nab", "ecg5000", "nasa"): every file; returns the
      dataset's folder (``<cache>/mnist``, ..., ``<cache>/ucr/ECG5000``);
    - "<name>/<file path>" (e.g. "nab/labels/combined_windows.json"): that one file;
    - a URL: saved as ``<cache>/downloads/<12 hex digits of the URL's sha256>/<file name>``
      (two URLs never share a file), checked against ``sha256`` if given.

    ``cache`` defaults to ``cache_dir()``. Files already in the cache are checked locally and
    not downloaded again. A checksum mismatch raises ``ValueError`` naming the file, the
    expected and the actual sha256, and leaves nothing behind. ``progress``: a bar per
    download on a terminal, else one line per downloaded file on stderr.
    """
    root = Path(cache) if cache is not None else cache_dir()
    if sha256 is not None:
        sha256 = sha256.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise SeqaeError(f"sha256 {sha256!r} is not 64 hexadecimal digits")
    if _is_url(name_or_url):
        name = Path(urllib.parse.urlsplit(name_or_url).path).name
        if not name:
            raise SeqaeError(f"URL {name_or_url} has no file name at the end of its path")
        return _get(
            RemoteFile(name_or_url, name, sha256),
            root / "downloads" / url_key(name_or_url),
            progress,
        )
    if sha256 is not None:
        raise SeqaeError(f"sha256= applies to URLs only; {name_or_url!r} has pinned checksums")
    name, _, rel = name_or_url.partition("/")
    ds = DATASETS.get(name.lower())
    if ds is None:
        close = difflib.get_close_matches(name.lower(), DATASETS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SeqaeError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)}){hint}")
    folder = root / ds.folder
    if rel:
        matches = [f for f in ds.files if f.path == rel]
        if not matches:
            raise SeqaeError(f"dataset {ds.name!r} has no file {rel!r}; see `seqae data list`")
        return _get(matches[0], folder, progress)
    for f in ds.files:
        _get(f, folder, progress)
    return folder


def _outputs(ds: Dataset) -> list[str]:
    return [out for f in ds.files for out in ([o for _, o, _ in f.extract] or [f.path])]


def _present(path: Path) -> bool:
    stem = path.name.split(".")[0]
    names = {path.name, path.name.removesuffix(".gz"), f"{path.name}.gz", f"{stem}.tsv"}
    return any((path.parent / n).is_file() for n in names)


def dataset_location(name: str, cache: str | Path | None = None) -> Path | None:
    """The folder holding every file of a known dataset (shared data first, then the cache).

    None when neither has them all.
    """
    ds = DATASETS[name]
    roots: list[Path] = []
    try:
        roots.append(shared_data_dir())
    except SeqaeError:
        pass
    roots.append(Path(cache) if cache is not None else cache_dir())
    for root in roots:
        folder = root / ds.folder
        # the output as listed, unpacked from .gz, gzipped, or a .tsv for a .txt table
        if all(_present(folder / p) for p in _outputs(ds)):
            return folder
    return None
