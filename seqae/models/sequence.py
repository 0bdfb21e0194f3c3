"""Recurrent sequence-to-sequence autoencoders over any seqae cell: ``(B, T, F) -> (B, T, F)``.

encoder (``num_layers`` of a cell) -> summary at each sequence's last real step -> bottleneck
-> latent ``(B, Z)`` -> decoder (``num_layers`` of a cell) -> linear output head -> ``(B, T, F)``.

Decoder inputs (``decoder_input``):

- ``"repeat"``: the latent at every step, the decoder starting from zeros; Keras'
  ``RepeatVector`` autoencoder (F. Chollet, "Building Autoencoders in Keras", 2016).
- ``"unconditioned"``: the latent mapped to the decoder's initial state, zero inputs (the
  first layer's input weights are zeroed and frozen, as they would multiply zeros); the
  unconditioned decoder of Srivastava, Mansimov and Salakhutdinov, "Unsupervised Learning
  of Video Representations using LSTMs" (ICML 2015), section 2.2.
- ``"teacher"``: the latent mapped to the initial state; the input at step t is the previous
  true step x_{t-1} while training (teacher forcing, x_0 = 0) and the decoder's own previous
  output at inference; the conditioned decoder of Srivastava et al. (2015), section 2.2.

A linear path (``linear_steps=T``, for sequences of one fixed length T): the code is the sum
of the recurrent encoder's bottleneck and a linear map of the flattened sequence, and the
output the sum of the recurrent decoder's and a linear map of the code. :meth:`init_linear`
starts it at PCA of the training data (Baldi and Hornik 1989: PCA is the optimum of a linear
autoencoder) with the recurrent branches' output maps at zero, so the model starts as PCA of
its code size and training adds what the recurrent cells capture beyond a linear subspace
(zero-initialised residual branches, as in Goyal et al. 2017's zero-gamma ResNet init).

``reverse=True`` reconstructs the sequence back to front, as Srivastava et al. (2015) do (the
first target is then the last step the encoder read); ``recon`` is flipped back to input order.

Padding: sequences of different lengths come zero-padded at the end with a mask ``(B, T)``.
Unidirectional cells (``rnn``, ``jordan``, ``lstm``, ``gru``) never see the padding before a
real step, so the summary is the top layer's output gathered at ``length - 1``. A
bidirectional LSTM would read the padding first in its backward direction, so with a mask it
runs on a packed sequence (``torch.nn.utils.rnn.pack_padded_sequence``): each direction starts
and ends at the sequence's own ends, and the summary is ``cat(h_fwd, h_bwd)`` of the last layer.

The ``jordan`` layers feed back an output of ``hidden_size`` units (the output layer head
maps it to F); the ``rnn`` (Elman) layers output their hidden state.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqae._registry import check_choice
from seqae.models._registry import check_size, register
from seqae.models.base import AEOutput, Autoencoder
from seqae.models.parts import Bottleneck, Corrupt

SEQUENCE_CELLS = ("rnn", "jordan", "lstm", "gru", "bilstm")
GATED_CELLS = ("lstm", "gru", "bilstm")  # torch's fused kernels; the ones chrono can start
DECODER_INPUTS = ("repeat", "unconditioned", "teacher")
VARIANTS = (None, "denoising", "sparse", "variational")


class RecurrentStack(nn.Module):
    """``num_layers`` of one seqae cell behind one interface, with a flat view of the state.

    ``lstm``, ``gru`` and ``bilstm`` stack their layers themselves (one fused kernel);
    ``rnn`` and ``jordan`` layers are chained here, each reading the outputs of the one below.

    Inputs: x ``(B, T, F)``, state (the cells' own format, or None), lengths ``(B,)`` or None.
    Outputs: outputs ``(B, T, O)`` (zeros at padded steps of a packed bidirectional run),
    state (the cells' format).
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, num_layers: int) -> None:
        super().__init__()
        from seqae.cells import CELLS

        check_choice("sequence cell", cell, SEQUENCE_CELLS)
        if num_layers < 1 or hidden_size < 1:
            raise ValueError(
                f"num_layers and hidden_size must be >= 1, got {num_layers} and {hidden_size}"
            )
        self.cell, self.num_layers, self.hidden_size = cell, num_layers, hidden_size
        cls = CELLS.get(cell)
        self.fused = cell in GATED_CELLS
        if self.fused:
            self.layers = nn.ModuleList([cls(input_size, hidden_size, num_layers=num_layers)])
        elif cell == "jordan":
            self.layers = nn.ModuleList(
                cls(input_size if i == 0 else hidden_size, hidden_size, output_size=hidden_size)
                for i in range(num_layers)
            )
        else:
            self.layers = nn.ModuleList(
                cls(input_size if i == 0 else hidden_size, hidden_size) for i in range(num_layers)
            )
        self.bidirectional = cell == "bilstm"
        self.output_features: int = self.layers[-1].output_features
        # Flat state: LSTM (h, c) each (L*D, B, H); GRU h (L, B, H); Elman h (B, H) per
        # layer; Jordan (h (B, H), y (B, H)) per layer.
        D = 2 if self.bidirectional else 1
        per_layer = {"lstm": 2, "bilstm": 2 * D, "gru": 1, "rnn": 1, "jordan": 2}[cell]
        self.state_size = per_layer * num_layers * hidden_size

    def freeze_input_weights(self) -> None:
        """Zero and freeze the first layer's input weights, for a decoder fed only zeros.

        They would multiply zeros and never learn; frozen, they are no dead trainable parameters.
        """
        first = self.layers[0]
        for name, p in first.named_parameters():
            if name.startswith(("weight_ih_l0", "weight_xh")):
                p.requires_grad_(False)
                with torch.no_grad():
                    p.zero_()

    def forward(
        self, x: Tensor, state: object = None, lengths: Tensor | None = None
    ) -> tuple[Tensor, object]:
        if self.fused:
            rnn = self.layers[0]
            if self.bidirectional and lengths is not None and bool((lengths < x.shape[1]).any()):
                return self._packed(rnn, x, state, lengths)
            return rnn(x, state)
        states = [None] * self.num_layers if state is None else state
        finals = []
        for layer, s in zip(self.layers, states, strict=True):
            x, s = layer(x, s)
            finals.append(s)
        return x, finals

    @staticmethod
    def _packed(rnn: nn.LSTM, x: Tensor, state: object, lengths: Tensor) -> tuple[Tensor, object]:
        # The seqae cell checks plain tensors only; torch.nn.LSTM's forward takes a packed
        # sequence (same parameters, same kernel) and reorders the state itself.
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, state = nn.LSTM.forward(rnn, packed, state)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return out, state

    def summary(self, outputs: Tensor, state: object, lengths: Tensor | None) -> Tensor:
        """The top layer's output at each sequence's last real step ``(B, O)``.

        Bidirectional: ``cat(h_fwd, h_bwd)`` from the state (both ends of the real steps).
        """
        if self.bidirectional:
            return self.layers[0].last_hidden(state)
        if lengths is None:
            return outputs[:, -1]
        B, _, O = outputs.shape
        idx = (lengths - 1).view(B, 1, 1).expand(B, 1, O)
        return outputs.gather(1, idx).squeeze(1)  # (B, O)

    def unflatten(self, v: Tensor) -> object:
        """A flat vector ``(B, state_size)`` as the cells' state (see ``state_size``)."""
        B, H, L = v.shape[0], self.hidden_size, self.num_layers
        if self.fused:
            # k = 2 tensors (h, c) for an LSTM, 1 (h) for a GRU, each (L*D, B, H)
            parts = v.view(B, self.state_size // H, H).transpose(0, 1)  # (k*L*D, B, H)
            if self.cell == "gru":
                return parts.contiguous()
            h, c = parts.chunk(2, dim=0)
            return h.contiguous(), c.contiguous()
        parts = v.view(B, L, -1)  # (B, L, per-layer)
        if self.cell == "rnn":  # contiguous: cuDNN refuses a strided initial state
            return [parts[:, i].contiguous() for i in range(L)]
        return [(parts[:, i, :H], parts[:, i, H:]) for i in range(L)]


def flip_valid(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence within its own length; padded steps stay where they are.

    x: (B, T, F), lengths: (B,) or None -> (B, T, F). Its own inverse.
    """
    if lengths is None:
        return x.flip(1)
    B, T, F = x.shape
    t = torch.arange(T, device=x.device).expand(B, T)
    L = lengths.to(x.device).view(B, 1)
    idx = torch.where(t < L, L - 1 - t, t)  # (B, T)
    return x.gather(1, idx.unsqueeze(-1).expand(B, T, F))


class SequenceAE(Autoencoder):
    """Sequence-to-sequence autoencoder with any seqae cell in the encoder and the decoder.

    Args:
        cell: encoder cell, one of "rnn" (Elman), "jordan", "lstm", "gru", "bilstm".
        n_features: F, features per step.
        hidden_size: H, units per layer (per direction for "bilstm").
        latent_size: Z, size of the code.
        num_layers: stacked layers in the encoder and in the decoder.
        decoder_cell: the decoder's cell; None: the encoder's. "bilstm" cannot decode with
            "teacher" (it would read the future).
        decoder_input: "repeat", "unconditioned" or "teacher" (see the module docstring).
        reverse: reconstruct back to front (Srivastava et al. 2015); ``recon`` is in input order.
        variant: None, "denoising" (corrupt the input in training, clean target; Vincent et al.
            2008; a "teacher" decoder then also reads the corrupted previous steps), "sparse"
            (L1 on the latent, weight ``sparsity``) or "variational" (reparameterised latent,
            ``beta`` * KL; Kingma and Welling 2014).
        noise: "gaussian" (x + noise_level * N(0, 1)) or "masking" (each value zeroed with
            probability noise_level), for the denoising variant.
        noise_level: see ``noise``.
        sparsity: weight of the L1 activity penalty, for the sparse variant.
        beta: weight of the KL term, for the variational variant. The KL of a sequence is
            divided by its number of reconstructed values (real steps x F), as the
            reconstruction loss is a mean over them: the loss is then the negative ELBO per
            value for a Gaussian likelihood of variance 1/2.
        linear_steps: T of the linear path beside the recurrent one (see the module
            docstring); the model then takes sequences of exactly T steps. None: no linear
            path. Not with the sparse or variational variants (their penalty is on the code).
        chrono: the longest T the encoder must carry its first steps through: its gates start
            with the chrono biases for time scales 1 to T - 1 (Tallec and Ollivier, ICLR
            2018; :meth:`seqae.cells.LSTM.chrono_`, :meth:`seqae.cells.GRU.chrono_`). Gated
            encoders only ("lstm", "gru", "bilstm"). None: the cells' own start (the LSTM's
            unit forget bias). ``benchmarks/README.md``: what it does on remember-the-start.

    Inputs: x ``(B, T, F)``, mask ``(B, T)`` bool (True = real step) or None.
    Outputs: :class:`AEOutput` with recon ``(B, T, F)`` (zeros at padded steps), latent
    ``(B, Z)`` (the mean in eval mode for the variational variant), aux_loss ``(B,)``.
    """

    input_kind = "sequence"
    recon_loss = "mse"

    def __init__(
        self,
        cell: str = "lstm",
        n_features: int = 1,
        hidden_size: int = 64,
        latent_size: int = 16,
        num_layers: int = 1,
        decoder_cell: str | None = None,
        decoder_input: str = "repeat",
        reverse: bool = False,
        variant: str | None = None,
        noise: str = "gaussian",
        noise_level: float = 0.1,
        sparsity: float = 1e-3,
        beta: float = 1.0,
        linear_steps: int | None = None,
        chrono: int | None = None,
    ) -> None:
        super().__init__()
        decoder_cell = cell if decoder_cell is None else decoder_cell
        check_choice("decoder_input", decoder_input, DECODER_INPUTS)
        check_choice("variant", variant, VARIANTS)
        if decoder_input == "teacher" and decoder_cell == "bilstm":
            raise ValueError(
                "decoder_cell='bilstm' cannot use decoder_input='teacher' (its backward "
                "direction would read the steps it must predict); use 'repeat' or another cell"
            )
        if n_features < 1 or latent_size < 1:
            raise ValueError(
                f"n_features and latent_size must be >= 1, got {n_features} and {latent_size}"
            )
        self.n_features, self.latent_size = n_features, latent_size
        self.decoder_input, self.reverse, self.variant = decoder_input, bool(reverse), variant
        self.corrupt = Corrupt(noise if variant == "denoising" else None, noise_level)
        self.encoder = RecurrentStack(cell, n_features, hidden_size, num_layers)
        self.chrono = chrono
        if chrono is not None:
            if not self.encoder.fused:
                raise ValueError(
                    f"chrono starts the gates of an lstm, gru or bilstm encoder; cell={cell!r} "
                    "has none (pass chrono=None)"
                )
            self.encoder.layers[0].chrono_(chrono)
        kind = {"sparse": "sparse", "variational": "variational"}.get(variant or "", "plain")
        self.bottleneck = Bottleneck(
            self.encoder.output_features, latent_size, kind, sparsity=sparsity, beta=beta
        )
        dec_in = {"repeat": latent_size, "unconditioned": 1, "teacher": n_features}
        self.decoder = RecurrentStack(decoder_cell, dec_in[decoder_input], hidden_size, num_layers)
        if decoder_input == "unconditioned":
            self.decoder.freeze_input_weights()
        # The latent as the decoder's initial state (all layers), for the conditioned modes.
        self.bridge = (
            None if decoder_input == "repeat" else nn.Linear(latent_size, self.decoder.state_size)
        )
        self.head = nn.Linear(self.decoder.output_features, n_features)
        self.linear_steps = linear_steps
        self.linear_encoder = self.linear_decoder = None
        if linear_steps is not None:
            if variant in ("sparse", "variational"):
                raise ValueError(
                    f"linear_steps works with variant None or 'denoising', got {variant!r} "
                    "(its penalty is on the recurrent code); pass linear_steps=None"
                )
            if linear_steps < 2:
                raise ValueError(f"linear_steps must be >= 2, got {linear_steps}")
            D = linear_steps * n_features
            self.linear_encoder = nn.Linear(D, latent_size)  # (B, T*F) -> (B, Z)
            self.linear_decoder = nn.Linear(latent_size, D)  # (B, Z) -> (B, T*F)

    @torch.no_grad()
    def init_linear(self, x: Tensor, freeze: bool = True) -> None:
        """Start the linear path at PCA of ``x`` ``(N, T, F)`` and the recurrent outputs at 0.

        The code is then the first Z principal components' scores and the output their
        reconstruction: the model begins at PCA's error. The zeroed output maps (the code's
        ``proj`` and the decoder's ``head``) get gradients from the first step, the recurrent
        cells behind them from the second on, once those maps are no longer 0. ``freeze``
        keeps the linear path at PCA: trained along, it drifts from PCA's optimum to fit the
        training sequences, and the held-out error rose from the first epoch on the panel.
        """
        if self.linear_encoder is None:
            raise ValueError("init_linear needs a linear path; build the model with linear_steps")
        flat = x.reshape(x.shape[0], -1).double()  # (N, T*F)
        if flat.shape[1] != self.linear_encoder.in_features:
            raise ValueError(
                f"init_linear got sequences of {x.shape[1]} steps x {x.shape[2]} features; "
                f"the linear path takes {self.linear_steps} x {self.n_features}"
            )
        mean = flat.mean(0)
        _, _, vh = torch.linalg.svd(flat - mean, full_matrices=False)  # vh (k, T*F)
        Z = self.latent_size
        basis = torch.zeros(Z, flat.shape[1], dtype=torch.float64)
        basis[: min(Z, vh.shape[0])] = vh[:Z]
        self.linear_encoder.weight.copy_(basis)
        self.linear_encoder.bias.copy_(-basis @ mean)
        self.linear_decoder.weight.copy_(basis.T)
        self.linear_decoder.bias.copy_(mean)
        for layer in (self.bottleneck.proj, self.head):
            layer.weight.zero_()
            layer.bias.zero_()
        for p in (*self.linear_encoder.parameters(), *self.linear_decoder.parameters()):
            p.requires_grad_(not freeze)

    def _check_input(self, x: Tensor, mask: Tensor | None) -> None:
        """``x`` ``(B, T, F)``; a mask ``(B, T)`` marks each sequence's first steps (a prefix,
        at least one step): anything else would be summarised at the wrong step. The mask's
        values are checked on the CPU only (on a GPU the check would wait for the device at
        every step; the training loop's own masks are prefixes by construction)."""
        if x.dim() != 3 or x.shape[2] != self.n_features:
            raise ValueError(
                f"expected sequences (B, T, {self.n_features}), got shape {tuple(x.shape)}"
            )
        if mask is not None and tuple(mask.shape) != tuple(x.shape[:2]):
            raise ValueError(
                f"expected a mask (B, T) = {tuple(x.shape[:2])}, got {tuple(mask.shape)}"
            )
        if mask is not None and mask.device.type == "cpu":
            m = mask.bool()
            lengths = m.sum(1)
            if not (lengths >= 1).all():
                raise ValueError("every sequence needs at least one real step; a mask row is empty")
            if not torch.equal(m, torch.arange(m.shape[1]) < lengths[:, None]):
                raise ValueError(
                    "the mask must mark each sequence's first steps (True, then only False); "
                    "put the padding at the end"
                )
        self._check_linear(x.shape[1], mask)

    def _check_linear(self, T: int, mask: Tensor | None) -> None:
        if self.linear_steps is not None and (T != self.linear_steps or mask is not None):
            raise ValueError(
                f"this model has a linear path for sequences of exactly {self.linear_steps} "
                f"steps; got {'sequences of different lengths' if mask is not None else T}. "
                "Cut the data into windows of that length, or fit with linear=False"
            )

    # -- pieces ---------------------------------------------------------------------------
    def _encode(self, x: Tensor, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        out, state = self.encoder(x, None, lengths)  # (B, T, O)
        z, aux = self.bottleneck(self.encoder.summary(out, state, lengths))  # (B, Z), (B,)
        if self.linear_encoder is not None:
            z = z + self.linear_encoder(x.flatten(1))  # (B, Z)
        return z, aux

    def _decode(
        self, z: Tensor, T: int, lengths: Tensor | None = None, prev: Tensor | None = None
    ) -> Tensor:
        """Decoder outputs in target order ``(B, T, F)``.

        ``prev`` ``(B, T, F)``: the true steps in target order, for teacher forcing; None at
        inference, where a "teacher" decoder feeds back its own outputs.
        """
        B = z.shape[0]
        state = None if self.bridge is None else self.decoder.unflatten(self.bridge(z))
        if self.decoder_input == "repeat":
            inputs = z.unsqueeze(1).expand(B, T, self.latent_size)  # (B, T, Z)
        elif self.decoder_input == "unconditioned":
            inputs = z.new_zeros(B, T, 1)  # (B, T, 1)
        elif prev is not None:
            inputs = torch.cat((prev.new_zeros(B, 1, self.n_features), prev[:, :-1]), 1)
        else:
            return self._free_run(z, T, state)
        out, _ = self.decoder(inputs, state, lengths)  # (B, T, O)
        return self.head(out)  # (B, T, F)

    def _free_run(self, z: Tensor, T: int, state: object) -> Tensor:
        """A "teacher" decoder at inference: each output is the next step's input."""
        y = z.new_zeros(z.shape[0], 1, self.n_features)  # (B, 1, F)
        ys = []
        for _ in range(T):
            out, state = self.decoder(y, state)
            y = self.head(out)  # (B, 1, F)
            ys.append(y)
        return torch.cat(ys, 1)  # (B, T, F)

    # -- the Autoencoder API --------------------------------------------------------------
    def encode(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Latent codes ``(B, Z)`` of ``x`` ``(B, T, F)`` (the mean when variational, in eval)."""
        self._check_input(x, mask)
        lengths = None if mask is None else mask.sum(1)
        return self._encode(x, lengths)[0]

    def decode(self, z: Tensor, length: int | None = None) -> Tensor:
        """Sequences of ``length`` steps ``(B, T, F)`` from codes ``z`` ``(B, Z)``."""
        if length is None or length < 1:
            raise ValueError(
                f"decode needs the number of steps to generate, length >= 1, got {length}; "
                "e.g. decode(z, length=140) or estimator.sample(n, length=140)"
            )
        if z.dim() != 2 or z.shape[1] != self.latent_size:
            raise ValueError(f"expected codes (B, {self.latent_size}), got shape {tuple(z.shape)}")
        self._check_linear(int(length), None)
        y = self._decode(z, int(length))
        return self._add_linear(y.flip(1) if self.reverse else y, z)

    def _add_linear(self, y: Tensor, z: Tensor) -> Tensor:
        """``y`` ``(B, T, F)`` in input order plus the linear path's output of ``z``."""
        if self.linear_decoder is None:
            return y
        return y + self.linear_decoder(z).view(y.shape)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> AEOutput:
        self._check_input(x, mask)
        _, T, F = x.shape
        lengths = None if mask is None else mask.sum(1)  # (B,)
        x_in = self.corrupt(x)  # (B, T, F); the identity unless denoising in training
        z, aux = self._encode(x_in, lengths)
        prev = None
        if self.decoder_input == "teacher" and self.training:
            prev = flip_valid(x_in, lengths) if self.reverse else x_in
        y = self._decode(z, T, lengths, prev)  # (B, T, F), target order
        if self.reverse:
            y = flip_valid(y, lengths)
        y = self._add_linear(y, z)
        if mask is not None:
            y = y * mask.unsqueeze(-1).to(y.dtype)
        if self.variant == "variational":
            n_values = (torch.full_like(aux, T) if lengths is None else lengths.to(aux)) * F
            aux = aux / n_values
        return AEOutput(y, z, aux)


# -- registry -------------------------------------------------------------------------------
PRESETS = {
    "tiny": {"hidden_size": 8, "latent_size": 4},
    "default": {"hidden_size": 64, "latent_size": 16},
}


def _build(cell: str, shape: tuple[int, ...] | None, size: str, overrides: dict) -> SequenceAE:
    check_size(size)
    if shape is not None and len(shape) != 2:
        raise ValueError(f"a sequence model takes samples of shape (T, F), got {tuple(shape)}")
    n_features = 1 if shape is None else int(shape[1])
    return SequenceAE(**{"cell": cell, "n_features": n_features, **PRESETS[size], **overrides})


@register("rnn", "sequence")
def rnn(shape: tuple[int, ...] | None = None, size: str = "default", **overrides) -> SequenceAE:
    """Elman RNN encoder and decoder, latent repeated at every decoder step."""
    return _build("rnn", shape, size, overrides)


@register("jordan", "sequence")
def jordan(shape: tuple[int, ...] | None = None, size: str = "default", **overrides) -> SequenceAE:
    """Jordan network (output fed back) encoder and decoder."""
    return _build("jordan", shape, size, overrides)


@register("lstm", "sequence")
def lstm(shape: tuple[int, ...] | None = None, size: str = "default", **overrides) -> SequenceAE:
    """LSTM encoder and decoder (the classic LSTM autoencoder)."""
    return _build("lstm", shape, size, overrides)


@register("gru", "sequence")
def gru(shape: tuple[int, ...] | None = None, size: str = "default", **overrides) -> SequenceAE:
    """GRU encoder and decoder."""
    return _build("gru", shape, size, overrides)


@register("bilstm", "sequence")
def bilstm(shape: tuple[int, ...] | None = None, size: str = "default", **overrides) -> SequenceAE:
    """Bidirectional LSTM encoder and decoder (packed sequences when padded)."""
    return _build("bilstm", shape, size, overrides)
