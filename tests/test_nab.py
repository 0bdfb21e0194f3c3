"""Real data: an LSTM autoencoder over windows of one NAB series finds a labelled anomaly.

NAB's realKnownCause/nyc_taxi (Ahmad et al. 2017): taxi passengers every 30 minutes, with
five labelled windows (the NYC marathon, Thanksgiving, Christmas, New Year, a blizzard).
Unsupervised: the model trains on every window of the series, labels unseen.
"""

from pathlib import Path

import numpy as np
import pytest

import seqae
from seqae.data import load_nab, nab_windows, windows

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NAB = DATA / "nab"
SERIES = "realKnownCause/nyc_taxi"

pytestmark = pytest.mark.slow


def test_highest_scored_window_overlaps_a_labelled_window():
    if not (NAB / "data" / f"{SERIES}.csv").is_file():
        pytest.skip(f"NAB data not found: {NAB}/data/{SERIES}.csv (shared datasets folder absent)")
    df = load_nab(SERIES, root=NAB)  # timestamp index; value, anomaly
    w = windows(df, length=48, stride=12)  # one day of 30-minute steps per window
    ae = seqae.SequenceAutoencoder("lstm", 1, hidden_size=32, latent_size=8, seed=0)
    ae.fit(w.X, epochs=10, batch_size=64, lr=3e-3, verbose=False)
    scores = ae.score(w.X)  # (N,)
    top = int(np.argmax(scores))
    labelled = df["anomaly"].to_numpy()
    assert labelled[w.starts[top] : w.starts[top] + 48].any(), df.index[w.starts[top]]
    # mapped back to time stamps: the highest-scored step lies inside a labelled window
    per_step = w.to_series(scores)
    when = per_step.idxmax()
    assert any(a <= when <= b for a, b in nab_windows(SERIES, root=NAB)), when


def test_panel_nab_sets_hold_out_the_last_third_in_time_with_no_shared_step():
    if not (NAB / "data" / f"{SERIES}.csv").is_file():
        pytest.skip(f"NAB data not found: {NAB}/data/{SERIES}.csv (shared datasets folder absent)")
    from seqae.bench.panel import REAL

    s = REAL["nab-nyc_taxi"](0)
    values = load_nab(SERIES, root=NAB)["value"].to_numpy(np.float32)
    at = {values[a : a + 48].tobytes(): a for a in range(0, len(values) - 47, 24)}
    train = [at[w[:, 0].tobytes()] for w in s.train]  # where each window lies in the series
    test = [at[w[:, 0].tobytes()] for w in s.test]
    assert max(train) + 48 <= min(test)  # no step of a held-out window was trained on
    assert test == sorted(test) and len(s.test) > 100 and len(s.train) > 200
