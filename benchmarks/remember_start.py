"""Remember the start with the purely recurrent model: a step budget, with or without chrono.

Trains ``SequenceAE(cell, 1, hidden_size=64, latent_size=16)`` (input order, the code fed
to the decoder at every step) on ``remember_start``: 1,024 training sequences of seed 0,
256 held-out ones of seed 1, batches of 64 drawn at random, Adam at ``--lr`` (constant, or
``--schedule onecycle`` with it as the peak),
gradient norm clipped at 1.0. Prints, every 250 steps, the held-out start MSE (the first 5
steps, where the pattern is) over predicting zeros: below 0.5 is the target.

    python benchmarks/remember_start.py --cell gru --length 100 --steps 3000 --chrono

``--chrono``: ``SequenceAE(..., chrono=T)``, the encoder's gates started as Tallec and
Ollivier's chrono initialisation (ICLR 2018) for time scales up to T: LSTM forget-gate bias
log U(1, T - 1), input-gate bias its negative; GRU update-gate bias -log U(1, T - 1)
(seqae's GRU keeps its state where its update gate is near 0). Without it the cells start
as torch and Keras do (unit forget bias for the LSTM).
"""

from __future__ import annotations

import argparse
import time

import torch

from seqae.data import remember_start
from seqae.models.sequence import SequenceAE
from seqae.training import one_cycle


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cell", default="lstm", choices=["lstm", "gru"])
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--schedule", default="constant", choices=["constant", "onecycle"])
    ap.add_argument("--chrono", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    train = torch.from_numpy(remember_start(1024, a.length, seed=0))
    test = torch.from_numpy(remember_start(256, a.length, seed=1))
    model = SequenceAE(
        a.cell, 1, hidden_size=64, latent_size=16, chrono=a.length if a.chrono else None
    )
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    sched = one_cycle(opt, a.lr, a.steps) if a.schedule == "onecycle" else None
    zeros = float((test[:, :5] ** 2).mean())
    gen = torch.Generator().manual_seed(2)
    t0 = time.perf_counter()
    for step in range(1, a.steps + 1):
        x = train[torch.randint(0, len(train), (64,), generator=gen)]
        loss = ((model(x).recon - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if sched is not None:
            sched.step()
        if step % 250 == 0 or step == a.steps:
            model.eval()
            with torch.no_grad():
                start = float(((model(test).recon[:, :5] - test[:, :5]) ** 2).mean()) / zeros
            model.train()
            print(
                f"{a.cell} T={a.length} chrono={a.chrono} {a.schedule} lr={a.lr:g} "
                f"step {step}: start MSE / zeros {start:.3f}, train loss {loss.item():.5f}, "
                f"{time.perf_counter() - t0:.0f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
