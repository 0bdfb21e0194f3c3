"""Real data: the LSTM autoencoder separates abnormal ECG5000 heartbeats from normal ones.

ECG5000 (UCR archive; PhysioNet BIDMC chf07): 5,000 beats of 140 steps, TRAIN and TEST joined.
Class 1 is normal, classes 2-5 abnormal. A seeded 80% of the normal beats trains (10% of them
held out by ``fit`` for the threshold); the other 20% of the normal beats and every abnormal
beat are scored.

The figure to match: the best public tutorial (an LSTM autoencoder trained one beat at a time
for 150 epochs) gets 142 of 145 normal and 142 of 145 abnormal beats right at its threshold.
Here: ROC AUC >= 0.97 in well under 3 minutes on 2 CPU cores, and the same 145 + 145 count at
``threshold_`` on a seeded sample of held-out beats. Run with ``-s`` to see the figures.
"""

import time
from pathlib import Path

import numpy as np
import pytest

import seqae

UCR = Path(__file__).resolve().parents[2] / "shared" / "data" / "ucr"

pytestmark = pytest.mark.slow


def split(seed: int = 0):
    X, y = seqae.data.load_ucr("ECG5000", split="all", root=UCR)
    X = np.asarray(X)[..., 0]  # (N, T): one feature
    normal, abnormal = X[y == 1], X[y != 1]
    perm = np.random.default_rng(seed).permutation(len(normal))
    cut = int(0.8 * len(normal))
    return normal[perm[:cut]], normal[perm[cut:]], abnormal


def test_lstm_autoencoder_finds_abnormal_heartbeats(record_property):
    if not (UCR / "ECG5000").is_dir():
        pytest.skip(f"ECG5000 not found at {UCR / 'ECG5000'} (../shared/data absent)")
    from sklearn.metrics import precision_score, recall_score, roc_auc_score

    train, normal, abnormal = split()
    # the purely recurrent LSTM of the tutorial comparison (benchmarks/README.md), in input
    # order at a constant lr: the figures there were measured with it
    ae = seqae.SequenceAutoencoder(
        "lstm",
        1,
        hidden_size=64,
        latent_size=16,
        seed=0,
        threshold_quantile=0.95,
        reverse=False,
        linear=False,
        schedule="constant",
    )
    t0 = time.perf_counter()
    ae.fit(train, epochs=20, batch_size=16, lr=1e-3, validation_split=0.1, verbose=False)
    fit_s = time.perf_counter() - t0

    test = np.concatenate([normal, abnormal])
    truth = np.r_[np.zeros(len(normal)), np.ones(len(abnormal))].astype(bool)  # True: abnormal
    scores = ae.score(test)
    flags = ae.predict(test)
    auc = roc_auc_score(truth, scores)
    precision, recall = precision_score(truth, flags), recall_score(truth, flags)
    # the tutorial's count: 145 normal and 145 abnormal held-out beats (a seeded sample)
    rng = np.random.default_rng(0)
    n_idx = rng.choice(len(normal), 145, replace=False)
    a_idx = len(normal) + rng.choice(len(abnormal), 145, replace=False)
    normal_right, abnormal_right = int((~flags[n_idx]).sum()), int(flags[a_idx].sum())
    figures = {
        "fit_seconds": round(fit_s, 1),
        "epoch_seconds_median": round(float(ae.history_["seconds"].median()), 2),
        "roc_auc": round(auc, 4),
        "precision_at_threshold": round(precision, 4),
        "recall_at_threshold": round(recall, 4),
        "normal_right_of_145": normal_right,
        "abnormal_right_of_145": abnormal_right,
        "normal_right_all": f"{int((~flags[: len(normal)]).sum())}/{len(normal)}",
        "abnormal_right_all": f"{int(flags[len(normal) :].sum())}/{len(abnormal)}",
    }
    for k, v in figures.items():
        record_property(k, v)
    print("\nECG5000:", figures)
    assert auc >= 0.97, figures
    # fit_seconds is recorded, not asserted: a wall-time limit fails on a busy machine
    assert normal_right >= 130 and abnormal_right >= 130, figures
