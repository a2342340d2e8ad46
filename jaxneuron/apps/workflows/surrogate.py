"""`jaxneuron surrogate {resting,izhikevich} [--stage STAGE]`: the two learned-surrogate
pipelines of issue 5 (`surrogate_resting`, `surrogate_izhikevich`), each run whole
(`--stage all`) or one stage at a time (`dataset`, `train`, `evaluate`; `sweep` trains a
grid of sizes on one dataset), as described in `_surrogate_stages`.
"""

from __future__ import annotations

from ..arguments import nonnegative_int, positive_int
from ._surrogate_stages import STAGES
from .surrogate_izhikevich import ARCHES as IZHIKEVICH_ARCHES, run_izhikevich
from .surrogate_resting import ARCHES as RESTING_ARCHES, run_resting

WHICH = ("resting", "izhikevich")
__all__ = ["WHICH", "run_izhikevich", "run_resting", "register"]


def register(commands) -> None:
    """Add `jaxneuron surrogate` to the CLI's sub-commands."""
    parser = commands.add_parser(
        "surrogate", help="learned surrogates: dataset, training and held-out evaluation "
                          "(free-running rollout RMSE, spike F1, speed vs the solver)")
    parser.add_argument("which", choices=WHICH, help="which pipeline")
    parser.add_argument("--stage", choices=STAGES, default="all",
                        help="one stage (reads what the earlier stages wrote into --out), "
                             "all three, or a sweep of sizes (experiment_results.csv)")
    parser.add_argument("--out", default=None,
                        help="output folder (default results/surrogate_WHICH)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (under two minutes on a 2-core CPU)")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="seeds data, split and training")
    parser.add_argument("--arch", default=None,
                        help=f"surrogate network: resting {RESTING_ARCHES} (default lstm), "
                             f"izhikevich {IZHIKEVICH_ARCHES} (default gated_mlp)")
    parser.add_argument("--hidden-size", type=positive_int, default=16,
                        help="resting: hidden units")
    parser.add_argument("--plots", type=nonnegative_int, default=4,
                        help="izhikevich: prediction plots of N random held-out runs")
    parser.set_defaults(func=_run_cli)


def _run_cli(a):
    out = a.out or f"results/surrogate_{a.which}"
    arches = IZHIKEVICH_ARCHES if a.which == "izhikevich" else RESTING_ARCHES
    if a.arch is not None and a.arch not in arches:  # before any stage runs
        raise ValueError(f"--arch must be one of {list(arches)} for surrogate {a.which}; "
                         f"got {a.arch!r}")
    if a.which == "izhikevich":
        return run_izhikevich(out, quick=a.quick, plots=a.plots, seed=a.seed,
                              arch=a.arch or "gated_mlp", stage=a.stage)
    return run_resting(out, quick=a.quick, seed=a.seed, hidden_size=a.hidden_size,
                       arch=a.arch or "lstm", stage=a.stage)
