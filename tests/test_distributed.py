"""DDP on the CPU (gloo): two ranks train the weights one process trains, and `seqae fit`
runs under torchrun.

The ranks run in a torchrun subprocess; this file is also its worker script (``__main__``).
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from seqae.distributed import Ranks
from seqae.estimators import SequenceAutoencoder

ROOT = Path(__file__).resolve().parents[1]
# fixed: 17 training sequences in batches of 8 end in a batch of one, so rank 1's last share
# is empty; ragged: 19 of different lengths in batches of 7 give shares of 4 and 3, 3 and 2
CASES = ("fixed", "ragged")


def _case(name: str):
    rng = np.random.default_rng(0)
    args = dict(cell="gru", hidden_size=8, latent_size=4, epochs=2, seed=1, verbose=False)
    if name == "fixed":
        steps = np.arange(12)[None, :]
        x = np.sin(steps / 2 + rng.uniform(0, 6, (20, 1))) + 0.1 * rng.normal(size=(20, 12))
        return x.astype(np.float32), {**args, "batch_size": 8, "validation_split": 0.15}
    seqs = [np.sin(np.arange(int(t)) / 2 + rng.uniform(0, 6)) for t in rng.integers(5, 13, 20)]
    return seqs, {**args, "batch_size": 7, "validation_split": 0.05, "lr": 1e-2}


def _fit(name: str) -> SequenceAutoencoder:
    x, args = _case(name)
    return SequenceAutoencoder(**args).fit(x)


def _worker(out: str) -> None:
    """Each rank: fit every case under the process group; save its weights and history."""
    import torch.distributed as dist
    from safetensors.torch import save_file

    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    for name in CASES:
        est = _fit(name)
        state = {k: v.contiguous() for k, v in est.model_.state_dict().items()}
        for col in ("val_loss", "val_gain_z"):  # z: per-sample gains pooled over the ranks
            state[col] = torch.tensor(est.history_[col].to_numpy())
        save_file(state, f"{out}/{name}.{rank}.safetensors")
    dist.destroy_process_group()


def _torchrun(*args, cwd: Path) -> subprocess.CompletedProcess:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    cmd += ["--master-addr", "127.0.0.1", "--master-port", str(port), *map(str, args)]
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout + res.stderr
    return res


def test_shares_partition_every_batch_and_weights_give_the_global_mean():
    losses = torch.rand(7, dtype=torch.float64)  # one loss per sample of a global batch
    for world in (2, 3, 5):
        for size in range(1, 8):
            idx = torch.arange(size)
            shares = [Ranks(r, world).share(idx) for r in range(world)]
            taken = torch.cat([i for i, w in shares if w])
            assert sorted(taken.tolist()) == list(range(size))
            # DDP's gradient: the mean over ranks of each rank's weighted mean loss
            ddp = sum(w * losses[i].mean() for i, w in shares) / world
            assert float(ddp) == pytest.approx(float(losses[:size].mean()), rel=1e-12)
    assert Ranks().share(torch.arange(3))[1] == 1.0


@pytest.mark.usefixtures("one_thread")
def test_two_gloo_ranks_train_the_weights_of_one_process(tmp_path):
    from safetensors.torch import load_file

    _torchrun(__file__, tmp_path, cwd=tmp_path)
    for name in CASES:
        one = _fit(name)
        ranks = [load_file(tmp_path / f"{name}.{r}.safetensors") for r in (0, 1)]
        np.testing.assert_allclose(ranks[0]["val_loss"], one.history_["val_loss"], rtol=1e-5)
        np.testing.assert_allclose(ranks[0]["val_gain_z"], one.history_["val_gain_z"], rtol=1e-3)
        for key, w in one.model_.state_dict().items():
            for r in ranks:
                torch.testing.assert_close(r[key], w, atol=1e-5, rtol=0, msg=f"{name} {key}")


@pytest.mark.usefixtures("one_thread")
def test_seqae_fit_under_torchrun_writes_a_model_that_loads_and_scores(tmp_path):
    x, _ = _case("fixed")
    np.save(tmp_path / "x.npy", x)
    res = _torchrun(
        "-m", "seqae", "fit", "x.npy", "--cell", "gru", "--hidden-size", "8",
        "--latent-size", "4", "--epochs", "2", "--batch-size", "8", "--out", "m.seqae",
        cwd=tmp_path,
    )  # fmt: skip
    summary = [ln for ln in res.stdout.splitlines() if ln.startswith("fitted")]
    assert len(summary) == 1 and "on 2 ranks" in summary[0], res.stdout  # rank 0 prints
    est = SequenceAutoencoder.load(tmp_path / "m.seqae")
    scores = est.decision_function(x)
    assert scores.shape == (20,) and np.isfinite(scores).all()
    assert est.get_params()["batch_size"] == 8 and len(est.history_) == 2


if __name__ == "__main__":
    _worker(sys.argv[1])


def test_a_batch_statistic_penalty_is_refused_under_ddp(monkeypatch):
    # KL(rho || mean activation) of each rank's share is not that of the global batch
    from seqae import training
    from seqae.models.image import make_image_model

    monkeypatch.setattr(training, "current", lambda: Ranks(rank=0, world=2))
    model = make_image_model("sparse", sparsity_target=0.05)
    data = training.TensorData(torch.rand(8, 1, 28, 28))
    with pytest.raises(ValueError, match=r"sparsity target .* under DDP"):
        training.fit(model, data, None, training.TrainConfig(epochs=1, batch_size=4))
    l1 = make_image_model("sparse")  # the L1 penalty is per sample: trains as one process does
    assert not any(getattr(m, "sparsity_target", None) for m in l1.modules())


def test_each_rank_draws_its_own_training_noise():
    # one stream per rank: with the shared seed alone every rank would corrupt its samples alike
    draws = []
    for rank in (0, 1):
        torch.manual_seed(0)
        Ranks(rank=rank, world=2).seed_noise(5)
        draws.append(torch.randn(4))
    assert not torch.equal(draws[0], draws[1])
    torch.manual_seed(0)
    expected = torch.randn(4)
    torch.manual_seed(0)
    Ranks().seed_noise(5)  # one process keeps its stream
    torch.testing.assert_close(torch.randn(4), expected)
