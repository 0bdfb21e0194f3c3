"""The registry of benchmarkable models: ``@register(name, input_kind)`` on a factory.

A factory ``f(shape=None, size="default", **overrides) -> Autoencoder`` builds a model for
samples of ``shape`` (one sample, no batch axis: ``(T, F)`` for "sequence", ``(C, Hs, Ws)``
for "image", ``(T, C, Hs, Ws)`` for "video"; ``None`` uses the family's default shape).
``size`` picks a preset: "tiny" (tests and the smoke suite, seconds) or "default".
A variant is a preset of arguments; a new model is one factory plus its decorator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from seqae._registry import Registry, check_choice
from seqae.models.base import Autoencoder, InputKind

SIZES = ("tiny", "default")


class ModelFactory(Protocol):
    input_kind: InputKind

    def __call__(
        self, shape: tuple[int, ...] | None = None, size: str = "default", **overrides: object
    ) -> Autoencoder: ...


MODELS: Registry[ModelFactory] = Registry("model")


def register(
    name: str, input_kind: InputKind, summary: str | None = None
) -> Callable[[Callable[..., Autoencoder]], ModelFactory]:
    """Register a model factory under ``name``; it states the input it takes."""

    def deco(fn: Callable[..., Autoencoder]) -> ModelFactory:
        fn.input_kind = input_kind  # type: ignore[attr-defined]
        return MODELS.register(name, summary)(fn)  # type: ignore[return-value]

    return deco


def check_size(size: str) -> None:
    check_choice("size preset", size, SIZES)
