"""Suites (TOML): the built-ins, errors that name the line, and the plan they make."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from seqae.bench import datasets as ds
from seqae.bench import suites
from seqae.bench.runner import benchmark_models, make_plan, resolve_devices
from seqae.errors import SeqaeError

REPO = Path(__file__).resolve().parents[1]

GOOD = """\
description = "test"
models = ["lstm", "dense"]
size = "tiny"

[train]
epochs = 1

[[datasets]]
name = "sine"
n = 16
length = 8
"""


def test_builtin_suites_parse_and_are_linked_from_benchmarks():
    names = suites.builtin_names()
    assert {"smoke", "quick", "full", "peers"} <= set(names)
    for name in names:
        s = suites.load(name)
        assert s.datasets and s.description
        linked = REPO / "benchmarks" / "suites" / f"{name}.toml"
        assert linked.read_text() == s.text  # the repository's copy is the packaged file


def test_full_suite_has_the_sequence_length_sweep():
    full = suites.load("full")
    remember = [e for e in full.datasets if e.name == "remember"]
    assert sorted(e.params["length"] for e in remember) == [25, 50, 100, 200, 400]
    # the sweep suite's settings (10 epochs taught no cell the task), gated encoders
    # chrono-started for each T; its 5,000 steps up to T = 100, 3x at 200 and 4.8x at 400
    # (12 batches an epoch), where the cells learned only after 5,500-9,750 steps
    sweep = suites.load("sweep")
    budget = sweep.measure_config(sweep.datasets[-1])
    epochs = {25: 417, 50: 417, 100: 417, 200: 1250, 400: 2000}
    for e in remember:
        cfg = full.measure_config(e)
        T = e.params["length"]
        assert (cfg.lr, cfg.schedule) == (budget.lr, budget.schedule)
        assert cfg.epochs == epochs[T] and (T > 100 or cfg.epochs == budget.epochs)
        assert all(e.model_args[c] == {"chrono": T} for c in ("lstm", "gru", "bilstm"))
    moving = next(e for e in full.datasets if e.name == "moving-mnist")
    assert (moving.params["frames"], moving.params["size"]) == (20, 64)
    assert {"ecg5000", "nab", "mnist"} <= {e.name for e in full.datasets}


def test_suite_by_path(tmp_path):
    p = tmp_path / "mine.toml"
    p.write_text(GOOD)
    s = suites.load(str(p))
    assert s.name == "mine" and s.size == "tiny" and s.train == {"epochs": 1}
    assert s.datasets[0].label == "sine(length=8,n=16)"
    assert s.measure_config(s.datasets[0]).epochs == 1
    p.write_text(GOOD.replace("epochs = 1", 'epochs = 1\nschedule = "onecycle"'))
    assert suites.load(str(p)).measure_config(s.datasets[0]).schedule == "onecycle"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace('size = "tiny"', 'size = "tiny'), 3, "malformed TOML"),
        (GOOD.replace("epochs = 1", "epoch = 1"), 6, "setting 'epoch'. Did you mean 'epochs'"),
        (GOOD.replace("epochs = 1", "schedule = 1"), 6, "schedule must be a string"),
        (GOOD.replace("epochs = 1", 'schedule = "cosine"'), 6, "unknown schedule 'cosine'"),
        (GOOD.replace("epochs = 1", "epochs = 1.5"), 6, "epochs must be an integer"),
        (GOOD.replace("epochs = 1", "epochs = 1\nlr = 0"), 7, "lr must be > 0"),
        (GOOD.replace("epochs = 1", "epochs = 1\ngrad_clip = -1"), 7, "grad_clip must be >= 0"),
        (GOOD.replace("length = 8", "lenght = 8"), 11, "has no parameter 'lenght'"),
        (GOOD.replace("length = 8", 'length = "8"'), 11, "length = '8': expected a number"),
        (GOOD.replace("length = 8", "length = 8.5"), 11, "expected a whole number"),
        (GOOD.replace('name = "sine"', 'name = "sines"'), 9, "unknown dataset 'sines'"),
        (GOOD.replace('size = "tiny"', 'size = "huge"'), 3, "size must be one of"),
        (GOOD.replace('description = "test"', 'descripton = "test"'), 1, "unknown key"),
        (GOOD + '\n[[datasets]]\nname = "sine"\nn = 16\nlength = 8\n', 14, "two datasets"),
    ],
)
def test_bad_suite_names_file_and_line(tmp_path, text, line, words):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(SeqaeError) as err:
        suites.load(str(p))
    msg = str(err.value)
    assert "\n" not in msg and words in msg
    assert f"bad.toml:{line}" in msg or f"line {line}" in msg


def test_unknown_suite_name_suggests(tmp_path, monkeypatch):
    with pytest.raises(SeqaeError, match="Did you mean 'smoke'"):
        suites.load("smok")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "smoke").mkdir()  # e.g. inside reports/, where a report folder is so named
    assert suites.load("smoke").name == "smoke"


def test_a_misspelt_model_in_a_dataset_entry_is_an_error(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(GOOD + 'models = ["lstn", "dense"]\n')
    with pytest.raises(SeqaeError, match=r"dataset 'sine.*models names 'lstn'.*mean 'lstm'"):
        make_plan(suites.load(str(p)), devices=["cpu"])


def test_a_dataset_entry_leaves_models_out_with_a_bang():
    text = GOOD.replace('models = ["lstm", "dense"]', 'models = ["lstm", "gru", "rnn", "dense"]')
    plan = make_plan(suites.parse(text + 'models = ["*", "!gru"]\n', name="t"), devices=["cpu"])
    assert sorted(t.model for t in plan.tasks) == ["lstm", "rnn"]  # dense takes images
    plan = make_plan(suites.parse(text + 'models = ["!rnn"]\n', name="t"), devices=["cpu"])
    assert sorted(t.model for t in plan.tasks) == ["gru", "lstm"]  # only exclusions: all but
    with pytest.raises(SeqaeError, match="has no task"):  # gru, the one match, left out
        make_plan(suites.parse(text + 'models = ["*u", "!gr*"]\n', name="t"), devices=["cpu"])


def test_models_naming_a_peer_not_installed_says_so(monkeypatch):
    monkeypatch.setattr(
        "seqae.bench.runner.unavailable", lambda: {"keras-x": "keras is not installed"}
    )
    with pytest.raises(SeqaeError, match=r"--models keras-x: not available here \(keras is not"):
        make_plan(suites.parse(GOOD, name="t"), devices=["cpu"], models="lstm,keras-x")


def test_smoke_plan_covers_every_benchmarkable_model():
    plan = make_plan(suites.load("smoke"), devices=["cpu"])
    reg = benchmark_models()
    assert {t.model for t in plan.tasks} == set(reg.names())
    for t in plan.tasks:
        kind, data_kind = reg.get(t.model).input_kind, ds.dataset_kind(t.entry.name)
        # same kind, or a sequence model the entry names on a video (flattened frames)
        assert kind == data_kind or (kind, data_kind, t.model) == ("sequence", "video", "lstm")
    keys = [t.key for t in plan.tasks]
    assert len(keys) == len(set(keys))


def test_plan_narrows_models_repeats_and_devices():
    s = suites.load("smoke")
    plan = make_plan(s, models="lstm*,conv*", devices=["cpu"], repeats=2)
    pairs = sorted({(t.model, t.entry.name) for t in plan.tasks})
    assert pairs == [
        ("conv", "digits"), ("convlstm", "moving-digits"), ("lstm", "moving-digits"),
        ("lstm", "sine"),
    ]  # fmt: skip
    assert len(plan.tasks) == 4 * 2
    assert plan.options["repeats"] == 2 and plan.options["models"] == "lstm*,conv*"
    with pytest.raises(ValueError, match=r"unknown model 'lstn'\. Did you mean 'lstm'"):
        make_plan(s, models="lstn")
    # "!x" leaves x out, as in a suite; alone, it keeps the rest of the suite's models
    every = {t.model for t in make_plan(s, devices=["cpu"]).tasks}
    fewer = {t.model for t in make_plan(s, models="!lstm,!conv*", devices=["cpu"]).tasks}
    assert fewer == every - {"lstm", "conv", "convlstm"}
    assert {t.model for t in make_plan(s, models="gru,!lstm", devices=["cpu"]).tasks} == {"gru"}
    with pytest.raises(ValueError, match=r"unknown model 'lstn'"):
        make_plan(s, models="!lstn")


def test_a_misspelt_model_at_the_top_of_a_suite_names_file_and_line(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(GOOD.replace('models = ["lstm", "dense"]', 'models = ["lstn"]'))
    with pytest.raises(SeqaeError, match=rf"{p}:2: models: unknown model 'lstn'.*'lstm'"):
        make_plan(suites.load(str(p)), devices=["cpu"])


def test_plan_runs_every_model_of_a_dataset_once_before_any_repeats():
    plan = make_plan(suites.load("smoke"), models="lstm,convlstm", devices=["cpu"], repeats=2)
    assert not any(n.startswith("--models") for n in plan.notes)
    quick = make_plan(suites.load("quick"), models="lstm,keras-dense", devices=["cpu"])
    assert "--models: keras-dense not in suite 'quick''s models; skipped" in quick.notes
    video = [(t.repeat, t.model) for t in plan.tasks if t.entry.name == "moving-digits"]
    assert [r for r, _ in video] == [0, 0, 1, 1]
    assert {m for _, m in video[:2]} == {m for _, m in video[2:]} == {"convlstm", "lstm"}
    labels = [t.entry.label for t in plan.tasks]
    assert labels == sorted(labels, key=labels.index)  # dataset-major: each built once


def test_full_suite_leaves_the_costliest_data_last_and_peers_off_the_sweep():
    plan = make_plan(suites.load("full"), devices=["cpu"], repeats=1)
    assert plan.tasks[-1].entry.name == "moving-mnist"
    sweep = {t.model for t in plan.tasks if t.entry.name == "remember"}
    assert sweep == {"rnn", "jordan", "lstm", "gru", "bilstm"}


def test_config_hash_follows_the_configuration():
    s = suites.load("smoke")
    a = make_plan(s, devices=["cpu"]).tasks[0]
    s2 = suites.parse(s.text.replace("epochs = 1", "epochs = 2"), name="smoke")
    b = make_plan(s2, devices=["cpu"]).tasks[0]
    assert a.model == b.model and a.config_hash != b.config_hash
    assert a.config_hash == make_plan(s, devices=["cpu"]).tasks[0].config_hash


def test_model_train_overrides_one_model_and_keys_only_its_tasks():
    base = suites.parse(GOOD.replace('["lstm", "dense"]', '["lstm", "jordan"]'), name="t")
    text = base.text + "model_train = { jordan = { lr = 1e-3, epochs = 4 } }\n"
    s = suites.parse(text, name="t")
    entry = s.datasets[0]
    assert s.measure_config(entry, "jordan").lr == 1e-3
    assert s.measure_config(entry, "jordan").epochs == 4
    assert s.measure_config(entry, "lstm") == s.measure_config(entry) == base.measure_config(entry)
    old = {t.model: t for t in make_plan(base, devices=["cpu"]).tasks}
    new = {t.model: t for t in make_plan(s, devices=["cpu"]).tasks}
    assert new["jordan"].config["train"]["lr"] == 1e-3
    assert new["lstm"].config_hash == old["lstm"].config_hash  # its stored results still count
    assert new["jordan"].config_hash != old["jordan"].config_hash
    for bad, words in [
        ("model_train = { jordan = { lrr = 1e-3 } }", "unknown training setting 'lrr'"),
        ("model_train = { jordan = 3 }", "model_train.jordan must be a table"),
    ]:
        with pytest.raises(SeqaeError, match=words):
            suites.parse(base.text + bad + "\n", name="t")
    typo = base.text + "model_train = { jordn = { lr = 1e-3 } }\n"
    with pytest.raises(SeqaeError, match="model_train names unknown model 'jordn'"):
        make_plan(suites.parse(typo, name="t"), devices=["cpu"])


def test_devices():
    with pytest.raises(SeqaeError, match="unknown device 'gpu0'"):
        resolve_devices(["gpu0"])
    if torch.cuda.is_available():
        assert resolve_devices(["cpu", "cuda"])[0] == ["cpu", "cuda"]
    else:
        usable, notes = resolve_devices(["cpu", "cuda"])
        assert usable == ["cpu"] and notes == ["skipping device cuda: torch sees no CUDA device"]
        with pytest.raises(SeqaeError, match="cannot use device cuda"):
            resolve_devices(["cuda"])


def test_flat_sequence_model_on_video(tmp_path):
    from seqae.bench.runner import as_model_input

    text = GOOD.replace('models = ["lstm", "dense"]', 'models = ["lstm", "convlstm", "gru"]')
    text += (
        '\n[[datasets]]\nname = "moving-digits"\nn = 4\nn_test = 2\nframes = 3\nsize = 16\n'
        'digit_size = 8\nmodels = ["convlstm", "lstm"]\n'
        "model_args = { lstm = { hidden_size = 3 } }\n"
    )
    s = suites.parse(text, name="t")
    plan = make_plan(s, devices=["cpu"])
    on_video = sorted(t.model for t in plan.tasks if t.entry.name == "moving-digits")
    assert on_video == ["convlstm", "lstm"]  # gru is not named there: it stays off the videos
    data = ds.build("moving-digits", s.datasets[1].params)
    flat = as_model_input(data, "sequence")
    assert flat.sample_shape == (3, 256) and flat.kind == "sequence"
    assert np.array_equal(flat.train.reshape(data.train.shape), data.train)
    # an entry without a models list takes no sequence model on its videos (and no error)
    listed = 'models = ["convlstm", "lstm"]\nmodel_args = { lstm = { hidden_size = 3 } }\n'
    plan = make_plan(suites.parse(text.replace(listed, ""), name="t"), devices=["cpu"])
    on_video = [t.model for t in plan.tasks if t.entry.name == "moving-digits"]
    assert on_video == ["convlstm"]
    bad = text.replace("lstm = { hidden_size = 3 }", "lstmm = { hidden_size = 3 }")
    with pytest.raises(SeqaeError, match=r"model_args names unknown model 'lstmm'.*mean 'lstm'"):
        make_plan(suites.parse(bad, name="t"), devices=["cpu"])
    # a misspelt argument: refused before any task runs, naming the closest one
    bad = text.replace("lstm = { hidden_size = 3 }", "lstm = { hiden_size = 3 }")
    with pytest.raises(
        SeqaeError, match=r"model_args.lstm: no argument .hiden_size.. Did you mean"
    ):
        make_plan(suites.parse(bad, name="t"), devices=["cpu"])
    bad = text.replace("lstm = { hidden_size = 3 }", "convlstm = { hidden = 3 }")
    with pytest.raises(SeqaeError, match=r"model_args.convlstm: no argument .hidden."):
        make_plan(suites.parse(bad, name="t"), devices=["cpu"])


def test_detector_arguments_checked_before_any_task():
    text = suites.load("tsad-quick").text
    s = suites.parse(
        text.replace(
            "[[datasets]]", "[[datasets]]\nmodel_args = { seqae-lstm = { windw = 50 } }", 1
        ),
        name="t",
    )
    with pytest.raises(SeqaeError, match=r"model_args.seqae-lstm: .*.windw."):
        make_plan(s, devices=["cpu"])


def test_quick_runs_every_seqae_model_and_no_peer():
    import seqae.models

    plan = make_plan(suites.load("quick"), devices=["cpu"])
    assert {t.model for t in plan.tasks} == set(seqae.models.MODELS.names())
    assert plan.repeats == 3
    # one data signature per dataset, whatever the model's own training or the repeat
    sine = [t for t in plan.tasks if t.entry.label == "sine-T50"]
    jordan = {t.config_hash for t in sine if t.model == "jordan"}
    assert jordan.isdisjoint({t.config_hash for t in sine if t.model == "lstm"})  # lr 1e-3
    assert len({t.config["data_signature"] for t in sine}) == 1
    assert len({t.config["data_signature"] for t in plan.tasks}) == len(
        {t.entry.label for t in plan.tasks}
    )
