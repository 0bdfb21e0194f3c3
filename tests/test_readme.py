"""The README's API example runs as written and learns: held-out MSE <= 0.1 of the variance."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

README = Path(__file__).resolve().parents[1] / "README.md"

pytestmark = pytest.mark.usefixtures("one_thread")


def test_readme_api_example_runs_and_learns(tmp_path, monkeypatch):
    block = re.search(r"## The API in short\s+```python\n(.*?)```", README.read_text(), re.S)
    assert block, "README lost its API example"
    rng = np.random.default_rng(0)
    from seqae.data import anomaly_series

    ns = {
        "images": rng.uniform(0, 1, (16, 28, 28)).astype(np.float32),
        "x": torch.randn(2, 5, 32),
        "series": anomaly_series(length=2400, n_anomalies=2, seed=0)["value"],
    }
    monkeypatch.chdir(tmp_path)  # the example saves a file
    code = block.group(1).replace("epochs=50", "epochs=1")  # the image part: runs, not judged
    exec(compile(code, "README.md", "exec"), ns)
    X, held = ns["X"], ns["X"][400:]
    assert ns["Z"].shape == (100, 16)
    assert ns["X_hat"].shape == held.shape
    mse = float(((ns["X_hat"] - held) ** 2).mean())
    assert mse <= 0.1 * float(held.var()), (mse, float(held.var()))
    assert ns["flags"].dtype == bool and ns["scores"].shape == (100,)
    np.testing.assert_allclose(ns["ae"].score(held), ns["scores"], rtol=1e-6)  # loaded = saved
    assert ns["outputs"].shape == (2, 5, 8)  # the Jordan line's output_size
    assert (tmp_path / "sines.seqae").is_file()
    assert list(ns["anomalies"].columns[:3]) == ["start", "end", "score"]
    assert X.shape == (500, 60, 1)
