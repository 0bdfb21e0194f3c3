"""Benchmark suites: TOML files that say which models run on which data, how, and how often.

Built-in suites (``smoke``, ``quick``, ``full``, ``sweep``, ``peers``, ``tsad``, ``tsad-quick``)
ship inside the package as ``seqae/bench/builtin_suites/<name>.toml``, so an installed seqae
finds them; ``benchmarks/suites/*.toml`` in the repository are links to those files (one
copy, no drift). ``--suite`` takes a built-in name or the path of any TOML file in this format::

    description = "one line"
    models = ["*", "!keras-*"]  # shell patterns over the benchmarkable models; ! excludes
    size = "tiny"             # the models' size preset: "tiny" or "default"
    repeats = 1               # default for --repeats
    devices = ["cpu"]         # default for --device
    seed = 0                  # data seed; repeat r also seeds the weights with seed + r

    [train]                   # how every task trains and measures (MeasureConfig fields)
    epochs = 2
    batch_size = 32

    [[datasets]]              # one table per dataset; models run on those of their input kind
    name = "sine"             # a dataset of seqae.bench.datasets
    label = "sine-T50"        # optional: its name in the results (default: name + params)
    models = ["lstm", "gru"]  # optional: only these models on it (see below)
    length = 50               # any other key is a parameter of the dataset
    train = { epochs = 3 }    # optional: overrides [train] for this dataset
    model_args = { lstm = { hidden_size = 8 } }  # optional: factory arguments, per model
    model_train = { jordan = { lr = 1e-3 } }     # optional: [train] overrides, per model

    [[datasets]]              # a series dataset (anomaly detection): one task per signal
    name = "nasa"
    label = "MSL"
    signals = "MSL"           # the dataset's signals: a set name or a list; label/<signal>

A model runs on the datasets of its input kind; the detectors of :mod:`seqae.bench.tsad` run
on series datasets (a suite holds either series datasets only, or none). A video dataset
whose ``models`` names a sequence model explicitly also runs it, on the frames flattened to
feature vectors ``(T, C*Hs*Ws)``: a flat recurrent autoencoder beside the ConvLSTM on the same
videos.

Every problem (bad TOML, unknown key, wrong type, unknown dataset or parameter) is one
``SeqaeError`` that names the file and the line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from seqae._registry import did_you_mean
from seqae.bench import datasets as ds
from seqae.bench.measure import MeasureConfig
from seqae.errors import SeqaeError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOP_KEYS = ("description", "models", "size", "repeats", "devices", "seed", "train", "datasets")
ENTRY_KEYS = ("name", "label", "models", "train", "model_args", "model_train", "signals")
SIZES = ("tiny", "default")


@dataclass(frozen=True)
class DatasetEntry:
    """One ``[[datasets]]`` table: which data, with which parameters, for which models."""

    name: str
    label: str
    params: dict[str, Any]
    models: tuple[str, ...] | None
    train: dict[str, Any]
    model_args: dict[str, Any]
    signals: str | tuple[str, ...] | None = None  # series datasets: which signals
    model_train: dict[str, dict[str, Any]] = field(default_factory=dict)  # per model

    @property
    def kind(self) -> str:
        return ds.dataset_kind(self.name)

    def expand(self) -> list[DatasetEntry]:
        """One entry per signal (label ``<label>/<signal>``) for a series dataset with
        ``signals``; otherwise this entry. Lists the signals, so it may read the data's index."""
        if self.signals is None:
            return [self]
        spec = self.signals if isinstance(self.signals, str) else list(self.signals)
        return [
            dataclasses.replace(
                self,
                label=f"{self.label}/{sig}",
                params={**self.params, "signal": sig},
                signals=None,
            )
            for sig in dict.fromkeys(ds.signals(self.name, spec))  # once each, in order
        ]


@dataclass
class Suite:
    name: str
    text: str  # the TOML as read: stored with each run, so a resume uses the same plan
    path: str  # where it came from ("<builtin>/smoke.toml" or a file path)
    description: str = ""
    models: tuple[str, ...] = ("*",)
    size: str = "default"
    repeats: int = 1
    devices: tuple[str, ...] = ("cpu",)
    seed: int = 0
    train: dict[str, Any] = field(default_factory=dict)
    datasets: list[DatasetEntry] = field(default_factory=list)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    @property
    def detects(self) -> bool:
        """A detection suite: its datasets are series, its models detectors."""
        return self.datasets[0].kind == "series"

    def where(self, key: str) -> str:
        """``path:line`` of a top-level ``key`` (before the first ``[[datasets]]``), for errors
        found when the suite is planned."""
        head = self.text.split("[[datasets]]", 1)[0]
        return f"{self.path}:{_line_of(head, key)}"

    def measure_config(self, entry: DatasetEntry, model: str | None = None) -> MeasureConfig:
        """``[train]``, then the entry's ``train``, then its ``model_train`` for ``model``."""
        return MeasureConfig(**{**self.train, **entry.train, **entry.model_train.get(model, {})})


def _wrong_type(value: Any, default: Any) -> str | None:
    """Why ``value`` cannot stand for a parameter whose default is ``default`` (None: it can).
    A default of None or of another kind says nothing: the dataset checks the value."""
    if default is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"expected true or false, got {value!r}"
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a number, got {type(value).__name__}"
        if isinstance(default, int) and not isinstance(value, int):
            return "expected a whole number"
        return None
    if isinstance(default, str) and not isinstance(value, str):
        return f"expected a string, got {type(value).__name__}"
    return None


def builtin_dir() -> Path:
    return Path(str(resources.files("seqae.bench") / "builtin_suites"))


def builtin_names() -> list[str]:
    return sorted(p.stem for p in builtin_dir().glob("*.toml"))


def load(name_or_path: str) -> Suite:
    """A built-in suite by name, or a suite file by path."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.is_file() or "/" in name_or_path or "\\" in name_or_path:
        if not p.is_file():
            raise SeqaeError(f"suite file {p} does not exist")
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SeqaeError(f"cannot read suite file {p}: {exc}") from None
        return parse(text, name=p.stem, path=str(p))
    names = builtin_names()
    if name_or_path not in names:
        import difflib

        close = difflib.get_close_matches(name_or_path, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise SeqaeError(
            f"unknown suite {name_or_path!r}.{hint} Built-in: {', '.join(names)}; "
            "or give the path of a .toml file"
        )
    path = builtin_dir() / f"{name_or_path}.toml"
    return parse(path.read_text(encoding="utf-8"), name=name_or_path, path=str(path))


def _line_of(text: str, key: str, after: int = 0) -> int:
    """1-based line of the first ``key =`` (or ``key`` in an inline table) after line ``after``."""
    pat = re.compile(rf"(^|[{{,\s])\"?{re.escape(key)}\"?\s*=")
    lines = text.splitlines()
    for i in range(after, len(lines)):
        if pat.search(lines[i].split("#", 1)[0]):
            return i + 1
    return after + 1 if after < len(lines) else max(len(lines), 1)


def _entry_lines(text: str) -> list[int]:
    """0-based line index of each ``[[datasets]]`` header, in order."""
    return [
        i for i, line in enumerate(text.splitlines()) if line.strip().startswith("[[datasets]]")
    ]


def parse(text: str, name: str = "suite", path: str = "<string>") -> Suite:
    """Parse and check a suite; every problem is one line naming ``path`` and the line."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SeqaeError(f"{path}: malformed TOML: {exc}") from None

    def fail(msg: str, key: str, after: int = 0) -> SeqaeError:
        return SeqaeError(f"{path}:{_line_of(text, key, after)}: {msg}")

    for key in raw:
        if key not in TOP_KEYS:
            raise fail(f"unknown key {key!r}; expected some of {', '.join(TOP_KEYS)}", key)

    def typed(obj: dict, key: str, types: type | tuple, what: str, after: int = 0) -> Any:
        val = obj[key]
        if not isinstance(val, types) or (isinstance(val, bool) and bool not in _tuple(types)):
            raise fail(f"{key} must be {what}, got {val!r}", key, after)
        return val

    def patterns(obj: dict, key: str, after: int = 0) -> tuple[str, ...]:
        val = obj[key]
        if isinstance(val, str):
            val = [val]
        if not isinstance(val, list) or not val or not all(isinstance(v, str) for v in val):
            raise fail(
                f"{key} must be a non-empty list of names or patterns, got {val!r}", key, after
            )
        return tuple(val)

    suite = Suite(name=name, text=text, path=path)
    if "description" in raw:
        suite.description = typed(raw, "description", str, "a string")
    if "models" in raw:
        suite.models = patterns(raw, "models")
    if "size" in raw:
        suite.size = typed(raw, "size", str, "a string")
        if suite.size not in SIZES:
            raise fail(f"size must be one of {', '.join(SIZES)}, got {suite.size!r}", "size")
    if "repeats" in raw:
        suite.repeats = typed(raw, "repeats", int, "an integer >= 1")
        if suite.repeats < 1:
            raise fail(f"repeats must be >= 1, got {suite.repeats}", "repeats")
    if "devices" in raw:
        suite.devices = patterns(raw, "devices")
    if "seed" in raw:
        suite.seed = typed(raw, "seed", int, "an integer")
    if "train" in raw:
        suite.train = _train_table(typed(raw, "train", dict, "a table"), fail, 0)

    entries = raw.get("datasets")
    if not isinstance(entries, list) or not entries:
        raise fail("a suite needs at least one [[datasets]] table", "datasets")
    starts = _entry_lines(text)
    labels: set[str] = set()
    for i, entry in enumerate(entries):
        after = starts[i] if i < len(starts) else 0
        if not isinstance(entry, dict):
            raise fail("datasets must be tables ([[datasets]])", "datasets")
        if "name" not in entry:
            raise SeqaeError(f"{path}:{after + 1}: this [[datasets]] table has no name = ...")
        dname = typed(entry, "name", str, "a dataset name", after)
        if dname not in ds.DATASETS:
            raise fail(str(ValueError(ds.DATASETS._unknown(dname))), "name", after)
        for key in ("train", "model_train"):
            if key in entry and ds.dataset_kind(dname) == "series":
                raise fail(
                    f"{key} does not apply to the series dataset {dname!r}: a detector trains "
                    "with its own defaults; pass its arguments in model_args",
                    key,
                    after,
                )
        known = ds.parameters(dname)
        params = {k: v for k, v in entry.items() if k not in ENTRY_KEYS}
        for k, v in params.items():
            if k not in known:
                raise fail(
                    f"dataset {dname!r} has no parameter {k!r}; it takes "
                    f"{', '.join(known) or 'none'} (and {', '.join(ENTRY_KEYS[1:])})",
                    k,
                    after,
                )
            why = _wrong_type(v, known[k])
            if why:
                raise fail(f"dataset {dname!r}: {k} = {v!r}: {why}", k, after)
        label = entry.get("label")
        if label is None:
            label = dname + (
                "(" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + ")"
                if params
                else ""
            )
        elif not isinstance(label, str) or not label:
            raise fail(f"label must be a non-empty string, got {label!r}", "label", after)
        if label in labels:
            raise fail(
                f"two datasets are labelled {label!r}; give one a label = ...", "name", after
            )
        labels.add(label)
        train = (
            _train_table(typed(entry, "train", dict, "a table", after), fail, after)
            if "train" in entry
            else {}
        )
        per_model: dict[str, dict[str, Any]] = {}  # key = { model = { ... } }
        for key, what, example in (
            ("model_args", "factory arguments", "hidden_size = 8"),
            ("model_train", "training settings", "lr = 1e-3"),
        ):
            per_model[key] = (
                typed(entry, key, dict, "a table of tables", after) if key in entry else {}
            )
            for m, kw in per_model[key].items():
                if not isinstance(kw, dict):
                    raise fail(
                        f"{key}.{m} must be a table of {what}, e.g. "
                        f"{key} = {{ {m} = {{ {example} }} }}; got {kw!r}",
                        key,
                        after,
                    )
        model_args = per_model["model_args"]
        model_train = {m: _train_table(t, fail, after) for m, t in per_model["model_train"].items()}
        models = patterns(entry, "models", after) if "models" in entry else None
        sigs = None
        if "signals" in entry:
            if ds.dataset_kind(dname) != "series":
                raise fail(
                    f"dataset {dname!r} is not a series dataset; drop signals", "signals", after
                )
            sigs = entry["signals"]
            if isinstance(sigs, list) and sigs and all(isinstance(x, str) for x in sigs):
                twice = next((x for i, x in enumerate(sigs) if x in sigs[:i]), None)
                if twice is not None:
                    raise fail(f"signals lists {twice!r} twice; drop one", "signals", after)
                sigs = tuple(sigs)
            elif not isinstance(sigs, str):
                raise fail(
                    f"signals must be a name or a list of names, got {sigs!r}", "signals", after
                )
        suite.datasets.append(
            DatasetEntry(dname, label, params, models, train, model_args, sigs, model_train)
        )
    kinds = {e.kind == "series" for e in suite.datasets}
    if len(kinds) > 1:
        raise fail("a suite holds series datasets only, or none; split it in two", "datasets")
    if suite.detects and "train" in raw:
        raise fail(
            "[train] does not apply to a suite of series datasets: each detector trains with "
            "its own defaults; pass its arguments in a dataset's model_args",
            "train",
        )
    return suite


def _tuple(t: type | tuple) -> tuple:
    return t if isinstance(t, tuple) else (t,)


def _train_table(table: dict[str, Any], fail, after: int) -> dict[str, Any]:
    keys = MeasureConfig.keys()
    for k, v in table.items():
        if k not in keys:
            hint = did_you_mean(k, keys)
            raise fail(
                f"unknown training setting {k!r}.{hint} Expected some of {', '.join(keys)}",
                k,
                after,
            )
        default = getattr(MeasureConfig, k, None)
        if isinstance(default, str):  # a name, e.g. schedule = "onecycle"
            if not isinstance(v, str):
                raise fail(f"{k} must be a string, got {v!r}", k, after)
            continue
        want_int = isinstance(default, int)
        if isinstance(v, bool) or not isinstance(v, int if want_int else (int, float)):
            what = "an integer" if want_int else "a number"
            raise fail(f"{k} must be {what}, got {v!r}", k, after)
    try:
        MeasureConfig(**table)
    except ValueError as exc:
        # the line of the setting the message names (else the table's first)
        key = next((k for k in table if k in str(exc)), next(iter(table), "train"))
        raise fail(str(exc), key, after) from None
    return dict(table)
