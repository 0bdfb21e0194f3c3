"""The registry of benchmarkable models: ``@MODELS.register(name)`` on a factory function.

A factory takes keyword arguments (a size preset overrides defaults) and returns an
:class:`~seqae.models.base.Autoencoder`. A variant is a preset of arguments.
"""

from seqae._registry import Registry

MODELS: Registry = Registry("model")
