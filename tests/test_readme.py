"""The README's API example runs as written (on small data)."""

import re
from pathlib import Path

import numpy as np
import torch

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_api_example_runs(tmp_path, monkeypatch):
    block = re.search(r"## The API in short\s+```python\n(.*?)```", README.read_text(), re.S)
    assert block, "README lost its API example"
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6, 20, dtype=np.float32)
    ns = {
        "X": np.sin(t[None, :, None] + rng.uniform(0, 3, (24, 1, 1))).astype(np.float32),
        "images": rng.uniform(0, 1, (16, 28, 28)).astype(np.float32),
        "x": torch.randn(2, 5, 32),
    }
    monkeypatch.chdir(tmp_path)  # the example saves a file
    exec(compile(block.group(1), "README.md", "exec"), ns)
    assert ns["Z"].shape == (24, 16)
    assert ns["X_hat"].shape == ns["X"].shape
    assert ns["flags"].dtype == bool and ns["scores"].shape == (24,)
    assert ns["outputs"].shape == (2, 5, 128)
    assert (tmp_path / "ecg.seqae").is_file()
