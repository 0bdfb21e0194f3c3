"""ConvLSTM video autoencoder: frames ``(B, T, C, Hs, Ws)`` -> a small latent map -> frames.

The encoder is a ConvLSTM (Shi et al., 2015) over the frames. Its last hidden state
``(B, Ch, Hs, Ws)`` goes through a spatial bottleneck: a strided convolution shrinks it by
``stride`` to ``(B, Ch, Hs/s, Ws/s)``, then a 1x1 map (a :class:`~seqae.models.parts.Bottleneck`
applied at every position) gives the code map ``(B, Zc, Hs/s, Ws/s)``, flattened as the latent
``(B, Zc * Hs/s * Ws/s)``. A transposed convolution maps the code back to the initial
``(h, c)`` of every decoder layer; the decoder ConvLSTM then runs on zero inputs (the
unconditioned decoder of Srivastava et al., 2015, section 2.2), and a 1x1 convolution maps
its hidden state to the output channels.

Output: ``output="linear"`` with squared error is the default everywhere (the estimator
standardises frames, so they are not probabilities; and on small moving-digit videos in [0, 1]
a sigmoid output trained with binary cross-entropy stalled at the mean frame for 3 of 3 seeds
at lr 3e-3, where the linear output learned every time). ``output="sigmoid"`` (recon_loss
"bce") stays available for frames in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from seqae.models._registry import check_size, register
from seqae.models.base import AEOutput, Autoencoder
from seqae.models.parts import Bottleneck, Corrupt

VARIANTS = (None, "denoising", "sparse", "variational")


class SpatialBottleneck(nn.Module):
    """Strided convolution, then a per-position :class:`Bottleneck` (a 1x1 map) to Zc channels.

    Exposes ``kind`` and ``latent_size`` (the flattened code size, Zc * Hs' * Ws') as a
    ``Bottleneck`` does, so estimators can sample codes from N(0, I).

    Inputs: h ``(B, Ch, Hs, Ws)``. Outputs: z ``(B, Zc, Hs', Ws')`` with Hs' = Hs / stride,
    aux ``(B,)`` the penalty summed over positions.
    """

    def __init__(
        self,
        channels: int,
        latent_channels: int,
        frame_size: tuple[int, int],
        stride: int,
        kind: str,
        sparsity: float,
        beta: float,
    ) -> None:
        super().__init__()
        Hs, Ws = frame_size
        if Hs % stride or Ws % stride:
            raise ValueError(
                f"frame_size {frame_size} must be divisible by stride={stride}; "
                "pick a stride that divides both"
            )
        self.down = (
            nn.Identity() if stride == 1 else nn.Conv2d(channels, channels, stride, stride=stride)
        )
        self.inner = Bottleneck(channels, latent_channels, kind, sparsity=sparsity, beta=beta)
        self.kind = kind
        self.map_shape = (latent_channels, Hs // stride, Ws // stride)
        self.latent_size = latent_channels * (Hs // stride) * (Ws // stride)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor]:
        d = self.down(h)  # (B, Ch, Hs', Ws')
        B, Ch, Hp, Wp = d.shape
        z, aux = self.inner(d.permute(0, 2, 3, 1).reshape(B * Hp * Wp, Ch))  # (B*P, Zc)
        z = z.view(B, Hp, Wp, -1).permute(0, 3, 1, 2)  # (B, Zc, Hs', Ws')
        return z, aux.view(B, Hp * Wp).sum(1)


class VideoAE(Autoencoder):
    """ConvLSTM encoder-decoder over frames with a spatial bottleneck (see the module docs).

    Args:
        in_channels: C, channels per frame.
        hidden_channels: Ch, channels of the ConvLSTM states.
        kernel_size: of the ConvLSTM convolutions.
        num_layers: stacked ConvLSTM layers in the encoder and in the decoder.
        frame_size: (Hs, Ws) of the frames (fixes the latent's size).
        latent_channels: Zc, channels of the code map.
        stride: the code map is ``stride`` times smaller than a frame in each direction.
        reverse: reconstruct the frames back to front (Srivastava et al. 2015).
        variant: None, "denoising", "sparse" or "variational" (as :class:`SequenceAE`; the KL
            is divided by the number of values per video, T * C * Hs * Ws).
        noise, noise_level, sparsity, beta: as :class:`SequenceAE`.
        output: "linear" (recon_loss "mse") or "sigmoid" (recon_loss "bce", frames in [0, 1]).

    Inputs: x ``(B, T, C, Hs, Ws)``; a mask is refused (videos have one length).
    Outputs: :class:`AEOutput` with recon ``(B, T, C, Hs, Ws)``, latent ``(B, Z)`` with
    Z = Zc * Hs/stride * Ws/stride, aux_loss ``(B,)``.
    """

    input_kind = "video"

    def __init__(
        self,
        in_channels: int = 1,
        hidden_channels: int = 16,
        kernel_size: int = 3,
        num_layers: int = 1,
        frame_size: Sequence[int] = (64, 64),
        latent_channels: int = 8,
        stride: int = 4,
        reverse: bool = False,
        variant: str | None = None,
        noise: str = "gaussian",
        noise_level: float = 0.1,
        sparsity: float = 1e-3,
        beta: float = 1.0,
        output: str = "linear",
    ) -> None:
        super().__init__()
        from seqae.cells import ConvLSTM

        if variant not in VARIANTS:
            raise ValueError(
                f"unknown variant {variant!r}; expected None, 'denoising', 'sparse' or "
                "'variational'"
            )
        if output not in ("linear", "sigmoid"):
            raise ValueError(f"unknown output {output!r}; expected 'linear' or 'sigmoid'")
        if len(frame_size) != 2 or stride < 1:
            raise ValueError(
                f"frame_size must be (Hs, Ws) and stride >= 1, got {frame_size} and {stride}"
            )
        self.frame_size = (int(frame_size[0]), int(frame_size[1]))
        self.in_channels, self.num_layers, self.hidden_channels = (
            in_channels,
            num_layers,
            hidden_channels,
        )
        self.reverse, self.variant, self.output = bool(reverse), variant, output
        self.recon_loss = "bce" if output == "sigmoid" else "mse"
        self.corrupt = Corrupt(noise if variant == "denoising" else None, noise_level)
        self.encoder = ConvLSTM(in_channels, hidden_channels, kernel_size, num_layers)
        kind = {"sparse": "sparse", "variational": "variational"}.get(variant or "", "plain")
        self.bottleneck = SpatialBottleneck(
            hidden_channels, latent_channels, self.frame_size, stride, kind, sparsity, beta
        )
        # The code map back to (h, c) of every decoder layer, at full frame size.
        self.bridge = nn.ConvTranspose2d(
            latent_channels, 2 * num_layers * hidden_channels, stride, stride=stride
        )
        self.decoder = ConvLSTM(1, hidden_channels, kernel_size, num_layers)
        # Zero inputs: the first layer's input weights would multiply zeros; freeze them.
        self.decoder.layers[0].weight_x.requires_grad_(False)
        with torch.no_grad():
            self.decoder.layers[0].weight_x.zero_()
        self.head = nn.Conv2d(hidden_channels, in_channels, 1)

    def _check(self, x: Tensor) -> None:
        if x.dim() != 5 or x.shape[2] != self.in_channels or tuple(x.shape[3:]) != self.frame_size:
            Hs, Ws = self.frame_size
            raise ValueError(
                f"VideoAE expects frames (B, T, {self.in_channels}, {Hs}, {Ws}), got "
                f"{tuple(x.shape)}; build it with the data's in_channels and frame_size"
            )

    def _encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        _, state = self.encoder(x)
        z, aux = self.bottleneck(self.encoder.last_hidden(state))  # (B, Zc, Hs', Ws'), (B,)
        return z.flatten(1), aux  # (B, Z)

    def encode(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Latent codes ``(B, Z)`` of frames ``(B, T, C, Hs, Ws)``."""
        if mask is not None:
            raise ValueError("video autoencoders take clips of one length and no mask; pass None")
        self._check(x)
        return self._encode(x)[0]

    def decode(self, z: Tensor, length: int | None = None) -> Tensor:
        """``length`` frames ``(B, T, C, Hs, Ws)`` from codes ``z`` ``(B, Z)``."""
        if length is None or length < 1:
            raise ValueError(
                f"decode needs the number of steps to generate, length >= 1, got {length}; "
                "e.g. decode(z, length=140) or estimator.sample(n, length=140)"
            )
        if z.dim() != 2 or z.shape[1] != self.bottleneck.latent_size:
            raise ValueError(
                f"expected codes (B, {self.bottleneck.latent_size}), got shape {tuple(z.shape)}"
            )
        B = z.shape[0]
        s = self.bridge(z.view(B, *self.bottleneck.map_shape))  # (B, 2*L*Ch, Hs, Ws)
        hc = s.chunk(2 * self.num_layers, dim=1)  # 2L tensors (B, Ch, Hs, Ws)
        pairs = [
            (hc[2 * i].contiguous(), hc[2 * i + 1].contiguous()) for i in range(self.num_layers)
        ]
        state = pairs[0] if self.num_layers == 1 else pairs
        zeros = z.new_zeros(B, int(length), 1, *self.frame_size)  # (B, T, 1, Hs, Ws)
        out, _ = self.decoder(zeros, state)  # (B, T, Ch, Hs, Ws)
        T = out.shape[1]
        y = self.head(out.flatten(0, 1)).view(B, T, self.in_channels, *self.frame_size)
        if self.output == "sigmoid":
            y = torch.sigmoid(y)
        return y.flip(1) if self.reverse else y

    def forward(self, x: Tensor, mask: Tensor | None = None) -> AEOutput:
        if mask is not None:
            raise ValueError("video autoencoders take clips of one length and no mask; pass None")
        self._check(x)
        z, aux = self._encode(self.corrupt(x))
        y = self.decode(z, x.shape[1])  # (B, T, C, Hs, Ws)
        if self.variant == "variational":
            aux = aux / x[0].numel()
        return AEOutput(y, z, aux)


PRESETS = {
    "tiny": {"hidden_channels": 4, "latent_channels": 2, "stride": 2},
    "default": {"hidden_channels": 16, "latent_channels": 8, "stride": 4},
}
DEFAULT_SHAPE = (20, 1, 64, 64)  # Moving MNIST: 20 frames of 64 x 64


@register("convlstm", "video")
def convlstm(shape: tuple[int, ...] | None = None, size: str = "default", **overrides) -> VideoAE:
    """ConvLSTM encoder and decoder with a spatial bottleneck (linear output, squared error)."""
    check_size(size)
    shape = DEFAULT_SHAPE if shape is None else tuple(shape)
    if len(shape) != 4:
        raise ValueError(f"a video model takes samples of shape (T, C, Hs, Ws), got {shape}")
    kw = {"in_channels": shape[1], "frame_size": shape[2:], **PRESETS[size]}
    return VideoAE(**{**kw, **overrides})
