"""Sequence (any cell) and video (ConvLSTM) autoencoders: shapes, references, padding, variants."""

import numpy as np
import pytest
import torch
from torch import nn

from seqae import losses, training
from seqae.data import load_digits, moving_digits, sine_mixture
from seqae.models import MODELS
from seqae.models.sequence import SEQUENCE_CELLS, SequenceAE, flip_valid
from seqae.models.video import SpatialBottleneck, VideoAE

SEQ = list(SEQUENCE_CELLS)
MODES = ["repeat", "unconditioned", "teacher"]


def combos():
    return [(c, m) for c in SEQ for m in MODES if not (c == "bilstm" and m == "teacher")]


def ragged_batch(F=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 9, F, generator=g)
    lengths = torch.tensor([9, 4, 6, 2])
    mask = torch.arange(9)[None, :] < lengths[:, None]  # (B, T)
    return x * mask[..., None], mask, lengths


# -- the registry --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "mode"),
    [(c, m) for c, m in combos() if c != "jordan" or m == "repeat"] + [("convlstm", None)],
)
def test_registered_tiny_models_keep_shape_and_train_every_parameter(name, mode):
    torch.manual_seed(0)
    factory = MODELS.get(name)
    if factory.input_kind == "sequence":
        x = torch.randn(3, 7, 2)
        model = factory(shape=(7, 2), size="tiny", decoder_input=mode, num_layers=2)
    else:
        assert factory.input_kind == "video"
        x = torch.rand(2, 4, 1, 8, 8)
        model = factory(shape=(4, 1, 8, 8), size="tiny")
    out = model(x)
    assert out.recon.shape == x.shape and out.aux_loss.shape == (x.shape[0],)
    assert out.latent.dim() == 2 and out.latent.shape[0] == x.shape[0]
    assert torch.isfinite(out.recon).all()
    losses.reconstruction(out.recon, x, model.recon_loss).mean().backward()
    for n, p in model.named_parameters():
        if p.requires_grad:  # frozen: input weights of a decoder fed zeros
            assert p.grad is not None and p.grad.abs().sum() > 0, n
        else:
            assert mode != "repeat" and n.startswith("decoder.layers.0.weight_") and p.eq(0).all()


def test_presets_differ_and_bad_shapes_are_refused():
    tiny, default = MODELS.get("lstm")(size="tiny"), MODELS.get("lstm")()
    assert tiny.n_parameters() < default.n_parameters()
    assert default.latent_size == 16 and default.n_features == 1
    with pytest.raises(ValueError, match=r"\(T, F\)"):
        MODELS.get("gru")(shape=(3, 4, 5))
    with pytest.raises(ValueError, match="size preset"):
        MODELS.get("gru")(size="huge")


# -- against torch's reference LSTM --------------------------------------------------------
def copy_lstm(src) -> nn.LSTM:
    ref = nn.LSTM(src.input_size, src.hidden_size, src.num_layers, batch_first=True)
    ref.load_state_dict(src.state_dict())
    return ref


@pytest.mark.parametrize("reverse", [False, True])
def test_repeat_decoder_equals_torch_lstm_reference(reverse):
    torch.manual_seed(1)
    m = SequenceAE("lstm", 2, 6, 3, reverse=reverse).eval()
    x = torch.randn(4, 5, 2)
    enc, dec = copy_lstm(m.encoder.layers[0]), copy_lstm(m.decoder.layers[0])
    with torch.no_grad():
        h = enc(x)[0][:, -1]  # (B, H): the last step's output
        z = m.bottleneck.proj(h)  # (B, Z)
        y = m.head(dec(z[:, None].repeat(1, 5, 1))[0])  # (B, T, F)
        want = y.flip(1) if reverse else y
        out = m(x)
    torch.testing.assert_close(out.latent, z, atol=1e-6, rtol=0)
    torch.testing.assert_close(out.recon, want, atol=1e-6, rtol=0)


def test_unconditioned_decoder_starts_from_the_latent_with_zero_inputs():
    torch.manual_seed(2)
    m = SequenceAE("lstm", 3, 5, 4, num_layers=2, decoder_input="unconditioned").eval()
    x = torch.randn(2, 6, 3)
    dec = copy_lstm(m.decoder.layers[0])
    with torch.no_grad():
        z = m.encode(x)
        s = m.bridge(z)  # (B, 2*L*H): h of layers 0, 1 then c of layers 0, 1
        h0 = s[:, :10].reshape(2, 2, 5).transpose(0, 1).contiguous()
        c0 = s[:, 10:].reshape(2, 2, 5).transpose(0, 1).contiguous()
        want = m.head(dec(torch.zeros(2, 6, 1), (h0, c0))[0])
        torch.testing.assert_close(m(x).recon, want, atol=1e-6, rtol=0)


def test_teacher_forcing_in_training_and_free_running_at_inference():
    torch.manual_seed(3)
    m = SequenceAE("lstm", 2, 5, 3, decoder_input="teacher")
    x = torch.randn(3, 6, 2)
    dec = copy_lstm(m.decoder.layers[0])
    with torch.no_grad():
        z = m.encode(x)
        s = m.bridge(z)
        state = (
            s[:, None, :5].transpose(0, 1).contiguous(),
            s[:, None, 5:].transpose(0, 1).contiguous(),
        )
        shifted = torch.cat((torch.zeros(3, 1, 2), x[:, :-1]), 1)  # previous true steps
        forced = m.head(dec(shifted, state)[0])
        m.train()
        torch.testing.assert_close(m(x).recon, forced, atol=1e-6, rtol=0)
        m.eval()
        y, st, ys = torch.zeros(3, 1, 2), state, []
        for _ in range(6):  # its own output becomes the next input
            o, st = dec(y, st)
            y = m.head(o)
            ys.append(y)
        torch.testing.assert_close(m(x).recon, torch.cat(ys, 1), atol=1e-6, rtol=0)
        torch.testing.assert_close(m.decode(z, 6), torch.cat(ys, 1), atol=1e-6, rtol=0)


def test_teacher_forcing_in_reverse_reads_the_reversed_sequence():
    torch.manual_seed(4)
    m = SequenceAE("gru", 1, 4, 2, decoder_input="teacher", reverse=True).train()
    x, mask, lengths = ragged_batch(F=1)
    with torch.no_grad():
        z = m.encode(x, mask)
        rev = flip_valid(x, lengths)
        prev = torch.cat((torch.zeros(4, 1, 1), rev[:, :-1]), 1)
        state = m.decoder.unflatten(m.bridge(z))
        want = flip_valid(m.head(m.decoder.layers[0](prev, state)[0]), lengths) * mask[..., None]
        torch.testing.assert_close(m(x, mask).recon, want, atol=1e-6, rtol=0)


def test_flip_valid_by_hand():
    x = torch.arange(8.0).view(2, 4, 1)
    got = flip_valid(x, torch.tensor([4, 2]))[..., 0]
    assert got.tolist() == [[3, 2, 1, 0], [5, 4, 6, 7]]
    assert torch.equal(flip_valid(flip_valid(x, torch.tensor([3, 1])), torch.tensor([3, 1])), x)


# -- padding -------------------------------------------------------------------------------
@pytest.mark.parametrize(("cell", "mode"), combos())
def test_a_padded_sequence_gives_what_it_gives_alone(cell, mode):
    """The summary is taken at each sequence's last real step (BiLSTM: packed), so padding
    and the other sequences in the batch change nothing."""
    torch.manual_seed(5)
    m = SequenceAE(cell, 2, 6, 3, num_layers=2, decoder_input=mode, reverse=True).eval()
    x, mask, lengths = ragged_batch()
    with torch.no_grad():
        out = m(x, mask)
        for i, t in enumerate(lengths.tolist()):
            alone = m(x[i : i + 1, :t])
            torch.testing.assert_close(out.latent[i], alone.latent[0], atol=1e-5, rtol=0)
            torch.testing.assert_close(out.recon[i, :t], alone.recon[0], atol=1e-5, rtol=0)
        assert (out.recon[~mask] == 0).all()


def test_bilstm_summary_joins_both_directions_over_the_real_steps():
    torch.manual_seed(6)
    m = SequenceAE("bilstm", 1, 4, 2).eval()
    x = torch.randn(1, 5, 1)
    ref = nn.LSTM(1, 4, batch_first=True, bidirectional=True)
    ref.load_state_dict(m.encoder.layers[0].state_dict())
    with torch.no_grad():
        out = ref(x)[0]  # (1, T, 8)
        h = torch.cat((out[:, -1, :4], out[:, 0, 4:]), 1)  # forward at T, backward at 1
        torch.testing.assert_close(m.encode(x), m.bottleneck.proj(h), atol=1e-6, rtol=0)


# -- options and variants ------------------------------------------------------------------
def test_layers_and_decoder_cell_are_used():
    m = SequenceAE("rnn", 2, 5, 3, num_layers=3, decoder_cell="jordan")
    assert len(m.encoder.layers) == 3 and type(m.encoder.layers[0]).__name__ == "Elman"
    assert len(m.decoder.layers) == 3 and type(m.decoder.layers[0]).__name__ == "Jordan"
    g = SequenceAE("gru", 2, 5, 3, num_layers=2)
    assert g.encoder.layers[0].num_layers == 2
    assert m(torch.randn(2, 4, 2)).recon.shape == (2, 4, 2)


def test_bad_arguments_are_one_clear_value_error():
    with pytest.raises(ValueError, match=r"unknown sequence cell 'lstn'\. Did you mean 'lstm'"):
        SequenceAE("lstn")
    with pytest.raises(ValueError, match="teacher"):
        SequenceAE("lstm", decoder_cell="bilstm", decoder_input="teacher")
    with pytest.raises(ValueError, match="decoder_input"):
        SequenceAE("lstm", decoder_input="copy")
    with pytest.raises(ValueError, match="variant"):
        SequenceAE("lstm", variant="contractive")


def test_bad_inputs_and_masks_are_one_clear_value_error():
    m = SequenceAE("lstm", n_features=2, hidden_size=4, latent_size=3)
    x = torch.randn(3, 5, 2)
    for bad, match in (
        (torch.randn(3, 5), r"sequences \(B, T, 2\), got shape \(3, 5\)"),
        (torch.randn(3, 5, 4), r"sequences \(B, T, 2\), got shape \(3, 5, 4\)"),
    ):
        with pytest.raises(ValueError, match=match):
            m(bad)
    prefix = torch.arange(5) < torch.tensor([5, 2, 1])[:, None]
    assert m(x, prefix).recon.shape == (3, 5, 2)
    holes = prefix.clone()
    holes[0, 2] = False  # True, True, False, True, True: summarised at the wrong step
    empty = prefix.clone()
    empty[2] = False  # no real step: gather at index -1
    for bad, match in (
        (holes, "first steps"),
        (empty, "at least one real step"),
        (prefix[:, :4], r"mask \(B, T\) = \(3, 5\), got \(3, 4\)"),
    ):
        with pytest.raises(ValueError, match=match):
            m(x, bad)
    with pytest.raises(ValueError, match=r"codes \(B, 3\), got shape \(4, 2\)"):
        m.decode(torch.randn(4, 2), 5)
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 5\]"):
        training.TensorData(x, torch.tensor([5, 0, 2]))


def test_denoising_corrupts_only_the_input_in_training():
    torch.manual_seed(7)
    m = SequenceAE("gru", 1, 4, 2, variant="denoising", noise="masking", noise_level=0.5)
    seen = []
    m.encoder.register_forward_pre_hook(lambda mod, args: seen.append(args[0].clone()))
    x = torch.randn(2, 50, 1)
    m.train()(x)
    m.eval()(x)
    zeroed = (seen[0] == 0).float().mean().item()
    assert 0.35 < zeroed < 0.65  # about half the values masked while training
    assert torch.equal(seen[1], x)  # clean at inference
    g = SequenceAE("gru", 1, 4, 2, variant="denoising", noise_level=0.3).train()
    g.encoder.register_forward_pre_hook(lambda mod, args: seen.append(args[0].clone()))
    g(x)
    assert abs((seen[2] - x).std().item() - 0.3) < 0.08


def test_sparse_adds_the_l1_of_the_latent():
    torch.manual_seed(8)
    m = SequenceAE("rnn", 1, 4, 3, variant="sparse", sparsity=0.01)
    out = m(torch.randn(5, 6, 1))
    want = 0.01 * out.latent.detach().abs().sum(1)
    torch.testing.assert_close(out.aux_loss.detach(), want)


def test_variational_kl_per_value_and_sampling():
    torch.manual_seed(9)
    m = SequenceAE("lstm", 2, 6, 3, variant="variational", beta=0.5)
    x, mask, lengths = ragged_batch()
    out = m.train()(x, mask)
    mu = m.bottleneck.mu.detach().numpy().astype(np.float64)
    lv = m.bottleneck.logvar.detach().numpy().astype(np.float64)
    kl = -0.5 * (1 + lv - mu**2 - np.exp(lv)).sum(1)  # Kingma and Welling, Appendix B
    want = 0.5 * kl / (lengths.numpy() * 2)
    np.testing.assert_allclose(out.aux_loss.detach().numpy(), want, rtol=1e-5)
    assert not torch.allclose(out.latent, m.bottleneck.mu)  # reparameterised sample
    m.eval()
    torch.testing.assert_close(m(x, mask).latent, m.encode(x, mask))
    assert m.decode(torch.randn(4, 3), 11).shape == (4, 11, 2)


# -- learning ------------------------------------------------------------------------------
# Jordan's output feedback makes its recurrence stiffer: a smaller net and step suit it.
LEARN = {c: (32, 1e-2) for c in SEQ} | {"jordan": (16, 3e-3)}


@pytest.mark.parametrize("cell", SEQ)
@pytest.mark.usefixtures("one_thread")  # one thread: the same numbers on any machine
def test_every_cell_learns_the_synthetic_set_far_better_than_the_mean(cell):
    X = torch.from_numpy(sine_mixture(448, 24, noise=0.02, seed=0, components=1))  # (N, T, 1)
    torch.manual_seed(0)
    hidden, lr = LEARN[cell]
    m = SequenceAE(cell, 1, hidden, 8, reverse=True)
    cfg = training.TrainConfig(epochs=25, batch_size=32, lr=lr, verbose=False)
    training.fit(m, training.TensorData(X[:384]), None, cfg)
    with torch.no_grad():
        err = ((m(X[384:]).recon - X[384:]) ** 2).mean().item()
    baseline = ((X[384:] - X[384:].mean(1, keepdim=True)) ** 2).mean().item()  # each one's mean
    assert err < 0.3 * baseline, (cell, err, baseline)


@pytest.mark.usefixtures("one_thread")
def test_convlstm_learns_moving_digits_better_than_the_mean():
    frames = moving_digits(load_digits(size=8)[0], 96, frames=4, size=16, digits=1, seed=0)
    X = torch.from_numpy(frames)  # (N, T, 1, 16, 16) in [0, 1]
    torch.manual_seed(0)
    m = VideoAE(1, 8, 3, frame_size=(16, 16), latent_channels=4, stride=2)
    cfg = training.TrainConfig(epochs=12, batch_size=8, lr=5e-3, verbose=False)
    training.fit(m, training.TensorData(X[:80]), None, cfg)
    with torch.no_grad():
        err = ((m(X[80:]).recon - X[80:]) ** 2).mean().item()
    baseline = ((X[80:] - X[80:].mean((1, 3, 4), keepdim=True)) ** 2).mean().item()
    assert err < 0.5 * baseline, (err, baseline)


# -- the linear path -----------------------------------------------------------------------
def test_linear_path_starts_as_pca_of_the_data():
    from sklearn.decomposition import PCA

    x = torch.from_numpy(sine_mixture(50, 12, n_features=2, seed=3))  # (N, T, F)
    m = SequenceAE("gru", 2, 8, 5, linear_steps=12, reverse=True).eval()
    m.init_linear(x)
    flat = x.reshape(50, -1).numpy()
    pca = PCA(5, svd_solver="full").fit(flat)
    want = pca.inverse_transform(pca.transform(flat)).reshape(x.shape)
    with torch.no_grad():
        out = m(x)
    np.testing.assert_allclose(out.recon.numpy(), want, atol=1e-4)
    # the code spans PCA's scores (up to each component's sign)
    np.testing.assert_allclose(
        np.abs(out.latent.numpy()), np.abs(pca.transform(flat)), rtol=1e-3, atol=1e-4
    )


def test_linear_path_is_frozen_and_the_recurrent_branches_learn():
    x = torch.from_numpy(sine_mixture(64, 10, seed=1))
    m = SequenceAE("lstm", 1, 8, 3, linear_steps=10)
    m.init_linear(x)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    cfg = training.TrainConfig(epochs=3, batch_size=16, lr=1e-2, verbose=False)
    training.fit(m, training.TensorData(x), None, cfg)
    after = m.state_dict()
    for k in before:
        changed = not torch.equal(before[k], after[k])
        assert changed == (not k.startswith("linear_")), k


def test_linear_path_takes_its_length_only():
    m = SequenceAE("lstm", 1, 8, 3, linear_steps=10)
    with pytest.raises(ValueError, match="exactly 10 steps; got 12"):
        m(torch.zeros(2, 12, 1))
    with pytest.raises(ValueError, match="exactly 10 steps"):
        m.decode(torch.zeros(2, 3), length=11)
    with pytest.raises(ValueError, match="linear_steps works with variant None or 'denoising'"):
        SequenceAE("lstm", 1, 8, 3, linear_steps=10, variant="variational")


# -- video ---------------------------------------------------------------------------------
def test_spatial_bottleneck_is_a_1x1_map_of_the_downsampled_state():
    torch.manual_seed(10)
    b = SpatialBottleneck(3, 2, (4, 6), 1, "plain", 0.0, 1.0)
    h = torch.randn(2, 3, 4, 6)
    z, aux = b(h)
    W, c = b.inner.proj.weight, b.inner.proj.bias  # (Zc, Ch), (Zc,)
    want = torch.einsum("zc,bchw->bzhw", W, h) + c[None, :, None, None]
    torch.testing.assert_close(z, want)
    assert b.latent_size == 2 * 4 * 6 and (aux == 0).all()
    with pytest.raises(ValueError, match="divisible"):
        SpatialBottleneck(3, 2, (5, 6), 2, "plain", 0.0, 1.0)


def test_video_model_variants_sample_and_refuse_wrong_frames():
    torch.manual_seed(11)
    m = VideoAE(
        1,
        4,
        3,
        num_layers=2,
        frame_size=(8, 8),
        latent_channels=2,
        stride=2,
        variant="variational",
        reverse=True,
        output="sigmoid",
    )
    assert m.recon_loss == "bce" and VideoAE(frame_size=(8, 8)).recon_loss == "mse"
    x = torch.rand(2, 3, 1, 8, 8)
    out = m.train()(x)
    assert out.latent.shape == (2, 2 * 4 * 4) and (out.aux_loss > 0).all()
    # the KL of the code map's positions, summed, over the values of one video (T*C*Hs*Ws)
    mu, logvar = m.bottleneck.inner.mu, m.bottleneck.inner.logvar  # (B * positions, Zc)
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(1).view(2, -1).sum(1)
    torch.testing.assert_close(out.aux_loss, kl / (3 * 1 * 8 * 8))
    y = m.eval().decode(torch.randn(5, m.bottleneck.latent_size), 4)
    assert y.shape == (5, 4, 1, 8, 8) and 0 <= y.min() and y.max() <= 1
    with pytest.raises(ValueError, match=r"frames \(B, T, 1, 8, 8\)"):
        m(torch.rand(2, 3, 1, 16, 16))
    with pytest.raises(ValueError, match="no mask"):
        m(x, torch.ones(2, 3, dtype=torch.bool))  # was ignored: every frame counted
    with pytest.raises(ValueError, match=r"codes \(B, 32\), got shape \(5, 7\)"):
        m.decode(torch.randn(5, 7), 4)


def test_chrono_starts_the_encoder_gates_only_and_needs_a_gated_cell():
    torch.manual_seed(0)
    H = 16
    model = SequenceAE("lstm", 1, hidden_size=H, latent_size=2, chrono=40)
    enc, dec = model.encoder.layers[0], model.decoder.layers[0]
    forget = enc.bias_ih_l0[H : 2 * H]
    assert torch.equal(enc.bias_ih_l0[:H], -forget) and forget.max() <= np.log(39) + 1e-6
    assert torch.equal(dec.bias_ih_l0[H : 2 * H], torch.ones(H))  # the unit forget bias
    torch.manual_seed(0)
    plain = SequenceAE("lstm", 1, hidden_size=H, latent_size=2)
    assert torch.equal(plain.encoder.layers[0].bias_ih_l0[H : 2 * H], torch.ones(H))
    for cell in ("rnn", "jordan"):
        with pytest.raises(ValueError, match=f"cell='{cell}' has none"):
            SequenceAE(cell, 1, chrono=40)
    assert MODELS.get("gru")(shape=(40, 1), size="tiny", chrono=40).chrono == 40
