"""Image autoencoders: the course's dense 784-32-784 model, a deeper dense one, a conv one, and
the denoising, sparse and variational variants, all one class configured by presets.

Six kinds (``make_image_model(kind)`` or the registry's factory of the same name):

========== ===================================================================================
dense      the hands-on: 784 -> Dense(32, ReLU) -> Dense(784, sigmoid); 50,992 parameters
           (Chollet 2016, "Building Autoencoders in Keras"); Glorot-uniform weights as Keras.
deep       widths halved layer by layer, 784 -> 128 -> 64 -> 32, decoder mirrored, ReLU hidden,
           sigmoid out, He initialisation (He et al. 2015) for the ReLU layers.
conv       stride-2 3x3 convolutions 1 -> 16 -> 32 channels (28 -> 14 -> 7), a linear 32-d
           code, transposed convolutions back to (1, 28, 28); He initialisation.
denoising  the conv model trained on x + 0.5 N(0, 1) clipped to [0, 1], against the clean x
           (Vincent et al. 2010; the Keras blog's noise factor 0.5).
sparse     the dense model plus an L1 activity penalty 1e-4 * sum|z| on the code (the Keras
           blog's ``activity_regularizer=l1(10e-5)``); ``sparsity_target=rho`` switches to a
           sigmoid code and the KL sparsity target of Ng (2011).
vae        pytorch/examples' VAE, 784 -> 400 -> (mu, log sigma^2) of size 20 -> 400 -> 784, with
           the reparameterisation trick and the KL term (Kingma and Welling 2014).
========== ===================================================================================

Every model maps ``(B, C, Hs, Ws)`` in [0, 1] to a reconstruction of that shape (a sigmoid
output) and a code ``(B, Z)``; ``decode(z)`` maps ``(B, Z)`` back to ``(B, C, Hs, Ws)``.
The reconstruction loss is binary cross-entropy, a per-element mean as Keras reports it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from torch import Tensor, nn

from seqae._registry import check_choice, did_you_mean
from seqae._registry import is_whole as _whole
from seqae.models._registry import check_size, register
from seqae.models.base import AEOutput, Autoencoder
from seqae.models.parts import Bottleneck, BottleneckKind, Corrupt, NoiseKind

KINDS = ("dense", "deep", "conv", "denoising", "sparse", "vae")


@dataclass
class ImageAEConfig:
    """Everything that defines an image autoencoder; a kind is a preset of these fields."""

    latent_size: int = 32  # Z, the code size (the course's 32)
    image_size: tuple[int, int] = (28, 28)  # (Hs, Ws)
    in_channels: int = 1  # C
    arch: Literal["mlp", "conv"] = "mlp"
    hidden: tuple[int, ...] = ()  # mlp: widths between pixels and code; the decoder mirrors them
    channels: tuple[int, ...] = (16, 32)  # conv: channels of each stride-2 layer, mirrored
    code_activation: Literal["relu", "linear"] = "relu"  # Keras' Dense(32, activation="relu")
    bottleneck: BottleneckKind = "plain"
    sparsity: float = 1e-4  # weight of the L1 (or KL) sparsity penalty: the Keras blog's 10e-5
    sparsity_target: float | None = None  # rho: a KL sparsity target instead of L1 (Ng 2011)
    beta: float = 1.0  # weight of the VAE's KL term (1 = the ELBO)
    noise: NoiseKind | None = None  # input corruption while training (denoising)
    noise_level: float = 0.5  # std of the Gaussian noise, or the masking probability
    recon_loss: Literal["bce", "mse"] = "bce"
    init: Literal["glorot", "he", "torch"] = "glorot"  # glorot = Keras' default; torch = as is

    def __post_init__(self) -> None:
        size = self.image_size
        if _whole(size):
            size = (size, size)
        if isinstance(size, (str, bytes)) or not hasattr(size, "__len__") or len(size) != 2:
            raise ValueError(f"image_size must be an int or (Hs, Ws) >= 1, got {size!r}")
        for name, values in (
            ("image_size", size),
            ("hidden", self.hidden),
            ("channels", self.channels),
        ):
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                raise ValueError(f"{name} must be a tuple of whole numbers >= 1, got {values!r}")
            if not all(_whole(v) and v >= 1 for v in values):
                raise ValueError(f"{name} must hold whole numbers >= 1, got {tuple(values)}")
        # JSON gives lists back, a grid NumPy ints: plain ints from here on
        self.image_size = tuple(int(s) for s in size)
        self.hidden, self.channels = tuple(map(int, self.hidden)), tuple(map(int, self.channels))
        for name in ("latent_size", "in_channels"):
            v = getattr(self, name)
            if not (_whole(v) and v >= 1):
                raise ValueError(f"{name} must be a whole number >= 1, got {v!r}")
            setattr(self, name, int(v))
        check_choice("arch", self.arch, ("mlp", "conv"))
        check_choice("code_activation", self.code_activation, ("relu", "linear"))
        check_choice("recon_loss", self.recon_loss, ("bce", "mse"))
        check_choice("init", self.init, ("glorot", "he", "torch"))
        if self.arch == "conv":
            if not self.channels:
                raise ValueError("a conv model needs at least one entry in channels, got ()")
            step = 2 ** len(self.channels)
            if any(s % step for s in self.image_size):
                raise ValueError(
                    f"a conv model with {len(self.channels)} stride-2 layers needs an image size "
                    f"divisible by {step}, got {self.image_size}; pad or resize the images"
                )

    @property
    def n_pixels(self) -> int:
        """C * Hs * Ws: the number of elements the per-element loss averages over."""
        return self.in_channels * self.image_size[0] * self.image_size[1]


# kind -> the fields it sets; everything else is ImageAEConfig's default.
PRESETS: dict[str, dict[str, Any]] = {
    "dense": {},
    "deep": {"hidden": (128, 64), "init": "he"},
    # A linear code: a ReLU on a conv model's 32-d code left dead units early in training.
    "conv": {"arch": "conv", "init": "he", "code_activation": "linear"},
    "denoising": {
        "arch": "conv",
        "init": "he",
        "code_activation": "linear",
        "noise": "gaussian",
        "noise_level": 0.5,
    },
    "sparse": {"bottleneck": "sparse"},
    # pytorch/examples vae/main.py: 784-400-20, torch's default initialisation.
    "vae": {
        "hidden": (400,),
        "latent_size": 20,
        "bottleneck": "variational",
        "code_activation": "linear",
        "init": "torch",
    },
}

# The registry's "tiny" size: a few thousand parameters, so tests cover every kind in seconds.
TINY: dict[str, dict[str, Any]] = {
    "dense": {"latent_size": 8},
    "deep": {"hidden": (32, 16), "latent_size": 8},
    "conv": {"channels": (4, 8), "latent_size": 8},
    "denoising": {"channels": (4, 8), "latent_size": 8},
    "sparse": {"latent_size": 8},
    "vae": {"hidden": (32,), "latent_size": 4},
}


class ImageAE(Autoencoder):
    """An image autoencoder: (corrupt) -> encoder -> bottleneck -> decoder -> sigmoid.

    Args:
        config: an :class:`ImageAEConfig` (``make_image_model`` builds one from a kind).

    Inputs: x (B, C, Hs, Ws) in [0, 1]; ``mask`` must be None (images are never ragged).
    Outputs: :class:`AEOutput` with recon (B, C, Hs, Ws) in [0, 1], latent (B, Z) (the sampled
    z while training a VAE, its mean mu in eval mode) and aux_loss (B,).

    .. note::
        The VAE's ``aux_loss`` is KL(q(z|x) || N(0, I)) per sample **divided by the number of
        pixels** C * Hs * Ws (784), because the reconstruction term is a per-element mean BCE:
        the total loss is then the negative ELBO / 784 per element. Multiply by 784 for the
        per-image figure that pytorch/examples logs (BCE summed over pixels + KL).
    """

    input_kind: ClassVar[str] = "image"

    def __init__(self, config: ImageAEConfig) -> None:
        super().__init__()
        cfg = self.config = config
        self.recon_loss = cfg.recon_loss
        C, (Hs, Ws), Z = cfg.in_channels, cfg.image_size, cfg.latent_size
        # The data lie in [0, 1], so the corrupted input is clipped back into that range.
        self.noise = Corrupt(cfg.noise, cfg.noise_level, clip=(0.0, 1.0))
        if cfg.arch == "mlp":
            self.encoder, width = _mlp_encoder(C * Hs * Ws, cfg.hidden)
        else:
            self.encoder, width = _conv_encoder(C, (Hs, Ws), cfg.channels)
        relu_code = cfg.code_activation == "relu" and cfg.bottleneck != "variational"
        use_act = relu_code and cfg.sparsity_target is None  # a KL target makes a sigmoid code
        self.bottleneck = Bottleneck(
            width,
            Z,
            cfg.bottleneck,
            sparsity=cfg.sparsity,
            sparsity_target=cfg.sparsity_target,
            beta=cfg.beta,
            activation=nn.ReLU() if use_act else None,
        )
        if cfg.arch == "mlp":
            self.decoder = _mlp_decoder(Z, cfg.hidden, (C, Hs, Ws))
        else:
            self.decoder = _conv_decoder(Z, C, (Hs, Ws), cfg.channels)
        _initialise(self, cfg.init)

    def _check(self, x: Tensor) -> None:
        want = (self.config.in_channels, *self.config.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(
                f"expected images (B, {want[0]}, {want[1]}, {want[2]}), got shape "
                f"{tuple(x.shape)}; reshape them or build the model with that image_size"
            )

    def encode(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """The code (B, Z) of images (B, C, Hs, Ws); the mean mu for a VAE in eval mode."""
        return self.forward(x, mask).latent

    def decode(self, z: Tensor) -> Tensor:
        """Images (B, C, Hs, Ws) in [0, 1] from codes (B, Z)."""
        if z.dim() != 2 or z.shape[1] != self.config.latent_size:
            raise ValueError(
                f"expected codes (B, {self.config.latent_size}), got shape {tuple(z.shape)}"
            )
        return self.decoder(z)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> AEOutput:
        if mask is not None:
            raise ValueError("image autoencoders take no mask; pass mask=None")
        self._check(x)
        h = self.encoder(self.noise(x))  # (B, D); noise is the identity in eval mode
        z, aux = self.bottleneck(h)  # (B, Z), (B,)
        if self.bottleneck.kind == "variational":
            aux = aux / self.config.n_pixels  # KL per element, beside the per-element BCE
        return AEOutput(self.decoder(z), z, aux)  # recon (B, C, Hs, Ws)


def _mlp_encoder(n_in: int, hidden: tuple[int, ...]) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = [nn.Flatten()]  # (B, C*Hs*Ws)
    for w in hidden:
        layers += [nn.Linear(n_in, w), nn.ReLU()]
        n_in = w
    return nn.Sequential(*layers), n_in


def _mlp_decoder(Z: int, hidden: tuple[int, ...], shape: tuple[int, int, int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    n_in = Z
    for w in reversed(hidden):
        layers += [nn.Linear(n_in, w), nn.ReLU()]
        n_in = w
    layers += [nn.Linear(n_in, math.prod(shape)), nn.Sigmoid(), nn.Unflatten(1, shape)]
    return nn.Sequential(*layers)


def _conv_encoder(
    C: int, size: tuple[int, int], channels: tuple[int, ...]
) -> tuple[nn.Sequential, int]:
    layers: list[nn.Module] = []
    c_in = C
    for c in channels:  # each halves Hs and Ws
        layers += [nn.Conv2d(c_in, c, 3, stride=2, padding=1), nn.ReLU()]
        c_in = c
    k = 2 ** len(channels)
    layers.append(nn.Flatten())  # (B, C_last * Hs/k * Ws/k)
    return nn.Sequential(*layers), c_in * (size[0] // k) * (size[1] // k)


def _conv_decoder(
    Z: int, C: int, size: tuple[int, int], channels: tuple[int, ...]
) -> nn.Sequential:
    k = 2 ** len(channels)
    inner = (channels[-1], size[0] // k, size[1] // k)
    layers: list[nn.Module] = [nn.Linear(Z, math.prod(inner)), nn.ReLU(), nn.Unflatten(1, inner)]
    outs = [*reversed(channels[:-1]), C]
    c_in = channels[-1]
    for i, c in enumerate(outs):  # each doubles Hs and Ws
        layers.append(nn.ConvTranspose2d(c_in, c, 3, stride=2, padding=1, output_padding=1))
        layers.append(nn.ReLU() if i < len(outs) - 1 else nn.Sigmoid())
        c_in = c
    return nn.Sequential(*layers)


def _initialise(model: ImageAE, scheme: str) -> None:
    """``glorot``: Keras' defaults (Glorot-uniform weights, zero biases) everywhere.
    ``he``: He-normal weights (fan-in, ReLU gain) for layers that feed a ReLU, Glorot for the
    sigmoid output layer and a linear code, zero biases. ``torch``: PyTorch's defaults."""
    if scheme == "torch":
        return
    layers = [
        m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d))
    ]
    output_layer = layers[-1]  # the decoder's last layer, before the sigmoid
    relu_code = model.bottleneck.activation is not None
    for m in layers:
        feeds_relu = m is not output_layer and (m is not model.bottleneck.proj or relu_code)
        if scheme == "he" and feeds_relu:
            # ConvTranspose2d stores (in, out, k, k): fan-in is then the weight's "fan_out".
            mode = "fan_out" if isinstance(m, nn.ConvTranspose2d) else "fan_in"
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
        else:
            nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


def make_image_model(
    kind: str = "dense",
    latent_size: int | None = None,
    image_size: int | tuple[int, int] = 28,
    **kw: Any,
) -> ImageAE:
    """Build an image autoencoder of one of the six kinds (see the module docstring).

    ``latent_size=None`` takes the kind's default (32; 20 for "vae"). Further keyword
    arguments override the kind's preset: any field of :class:`ImageAEConfig` (``hidden``,
    ``channels``, ``arch``, ``code_activation``, ``sparsity``, ``sparsity_target``, ``beta``,
    ``noise``, ``noise_level``, ``recon_loss``, ``init``, ``in_channels``).
    """
    check_choice("image autoencoder kind", kind, KINDS)
    fields = sorted({f.name for f in dataclasses.fields(ImageAEConfig)} - {"image_size"})
    unknown = sorted(set(kw) - set(fields))
    if unknown:
        raise ValueError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for image kind {kind!r}."
            f"{did_you_mean(unknown[0], fields)} Expected some of "
            f"{', '.join(f for f in fields if f != 'latent_size')}"
        )
    params = {**PRESETS[kind], **kw, "image_size": image_size}
    if latent_size is not None:
        params["latent_size"] = latent_size
    _check_applies(kind, kw, {**dataclasses.asdict(ImageAEConfig()), **params})
    return ImageAE(ImageAEConfig(**params))


def _check_applies(kind: str, given: dict[str, Any], params: dict[str, Any]) -> None:
    """Refuse an option given for a model that would not read it (``sparsity`` on a plain
    code, ``channels`` on a dense model, ...): it would train as if it had not been given."""
    bottleneck, arch = params["bottleneck"], params["arch"]
    where = {  # option -> (read when, what reads it)
        "sparsity": (bottleneck == "sparse", "the sparse code (kind 'sparse')"),
        "beta": (bottleneck == "variational", "the variational code (kind 'vae')"),
        "noise_level": (params["noise"] is not None, "input noise (noise='gaussian' or 'masking')"),
        "hidden": (arch == "mlp", "dense layers (arch='mlp')"),
        "channels": (arch == "conv", "convolutions (arch='conv')"),
        "code_activation": (
            bottleneck != "variational" and params["sparsity_target"] is None,
            "a plain or L1-sparse code (a VAE's and a KL-sparse code's are fixed)",
        ),
    }
    for name, (read, what) in where.items():
        if name in given and given[name] is not None and not read:
            raise ValueError(
                f"{name}={given[name]!r} applies to {what}; kind {kind!r} with these options "
                f"would ignore it. Drop it, or pick a kind that uses it"
            )


def _factory(kind: str):
    def factory(
        shape: tuple[int, ...] | None = None, size: str = "default", **overrides: Any
    ) -> ImageAE:
        check_size(size)
        params: dict[str, Any] = dict(TINY[kind]) if size == "tiny" else {}
        if shape is not None:
            if len(shape) != 3:
                raise ValueError(f"an image model takes shape (C, Hs, Ws), got {tuple(shape)}")
            params.update(in_channels=shape[0], image_size=(shape[1], shape[2]))
        params.update(overrides)
        return make_image_model(kind, **params)

    factory.__name__ = kind
    return factory


_SUMMARIES = {
    "dense": "784-32-784 dense autoencoder, the course's hands-on (50,992 parameters)",
    "deep": "dense 784-128-64-32 autoencoder, mirrored decoder, He initialisation",
    "conv": "convolutional autoencoder, stride-2 convs 16-32, 32-d code",
    "denoising": "conv autoencoder trained on inputs with noise 0.5, clean targets",
    "sparse": "784-32-784 autoencoder with an L1 activity penalty on the code",
    "vae": "variational autoencoder 784-400-20 (pytorch/examples), sample(n)",
}

for _kind in KINDS:
    register(_kind, "image", _SUMMARIES[_kind])(_factory(_kind))
