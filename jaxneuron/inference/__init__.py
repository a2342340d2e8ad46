"""Bayesian parameter inference for any neuron model.

- `priors`: `Prior` of named model fields, `Uniform` / `LogUniform` bounds, bijections onto
  them (`jaxneuron.transforms.Bounded` / `LogBounded`).
- `bayes`: NumPyro model of a noisy observable (`likelihood_model`) and NUTS through the
  solver (`NutsSampler`, `run_nuts`) with ArviZ diagnostics and netCDF export; given a
  `Recording` in place of the stimulus, every selected sweep is observed jointly on the
  recording's grid (as `fit_recording`), so a fit can be followed by a posterior.
- `npe`: amortized neural posterior estimation: `simulate_observations` (a stimulus, or
  a recording's sweeps), `train_npe` (flowjax conditional flow, Optax),
  `NPEPosterior.sample`.
- `summaries`: `FeatureSummary`, a recording's exact eFEL features per sweep as one
  fixed-length vector (with definedness indicators), for NPE on a recording.
- `restarts`: `fit_restarts`, many random-restart gradient fits vmapped in one call.
- `calibration`: `coverage`, `coverage_curve`, `sbc_ranks`, `c2st`.
"""

from ..transforms import LogBounded
from .bayes import NutsResult, NutsSampler, likelihood_model, run_nuts, voltage
from .calibration import (
    c2st,
    central_interval_hits,
    coverage,
    coverage_curve,
    coverage_interval,
    sbc_ranks,
)
from .npe import NPEPosterior, TrainHistory, simulate_observations, train_npe
from .priors import AbstractMarginal, LogUniform, Prior, Uniform
from .restarts import RestartsResult, fit_restarts
from .summaries import SUMMARY_FEATURES, FeatureSummary

__all__ = [
    "SUMMARY_FEATURES",
    "AbstractMarginal",
    "FeatureSummary",
    "LogBounded",
    "LogUniform",
    "NPEPosterior",
    "NutsResult",
    "NutsSampler",
    "Prior",
    "RestartsResult",
    "TrainHistory",
    "Uniform",
    "c2st",
    "central_interval_hits",
    "coverage",
    "coverage_curve",
    "coverage_interval",
    "fit_restarts",
    "likelihood_model",
    "run_nuts",
    "sbc_ranks",
    "simulate_observations",
    "train_npe",
    "voltage",
]
