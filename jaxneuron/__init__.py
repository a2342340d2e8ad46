"""jaxneuron: JAX-accelerated, differentiable neuron simulation.

This package is the library: models, stimuli, engines, `simulate`, `sweep`, `fit`,
networks, analysis, inference, learned surrogate models (`emulators`), plotting and the
SciPy baselines. The applications built on it (the command line and its workflows, the
digits task, demo networks, benchmark helpers) live in `jaxneuron.apps`, which the library
never imports.

Names load on first use (SPEC 1 lazy loading; the names are listed once, in
`__init__.pyi`): `import jaxneuron` costs almost nothing, `jaxneuron.simulate` imports JAX,
Equinox and Diffrax the first time it is touched, and the subpackages with heavy
dependencies (`inference`: NumPyro, ArviZ; `plotting`: matplotlib; `analysis`: powerlaw,
mrestimator) load only when asked for.
"""

import lazy_loader

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
