"""The public names of jaxneuron, read by `lazy_loader` (which loads each on first use)
and by type checkers (`from .m import name as name` marks a re-export)."""

from . import (
    analysis as analysis,
    baselines as baselines,
    biophysics as biophysics,
    emulators as emulators,
    engines as engines,
    features as features,
    imports as imports,
    inference as inference,
    losses as losses,
    models as models,
    network as network,
    plotting as plotting,
    recordings as recordings,
    spike_surrogates as spike_surrogates,
    stimuli as stimuli,
    transforms as transforms,
    units as units,
)
from ._fields import (
    batch_axes as batch_axes,
    param as param,
    parameter_names as parameter_names,
)
from .engines import (
    AbstractEngine as AbstractEngine,
    AdaptiveSteps as AdaptiveSteps,
    ClockSpiking as ClockSpiking,
    ExactSpiking as ExactSpiking,
    FixedSteps as FixedSteps,
)
from .engines.solvers import (
    ExponentialEuler as ExponentialEuler,
    ExponentialMidpoint as ExponentialMidpoint,
    StaggeredExponential as StaggeredExponential,
)
from .engines.terms import (
    neuron_term as neuron_term,
)
from .fit import (
    FitResult as FitResult,
    fit as fit,
    spike_time_mse as spike_time_mse,
    voltage_mse as voltage_mse,
)
from .fit_recording import (
    RecordingFit as RecordingFit,
    RecordingObjective as RecordingObjective,
    fit_recording as fit_recording,
    recording_objective as recording_objective,
)
from .imports import (
    from_brian2 as from_brian2,
    from_neuroml as from_neuroml,
    load_lems as load_lems,
)
from .models import (
    LIF as LIF,
    AbstractGatedNeuron as AbstractGatedNeuron,
    AbstractNeuron as AbstractNeuron,
    AbstractSpikingNeuron as AbstractSpikingNeuron,
    AdEx as AdEx,
    ConductanceLIF as ConductanceLIF,
    GeneralizedNeuron as GeneralizedNeuron,
    HodgkinHuxley as HodgkinHuxley,
    Izhikevich as Izhikevich,
    RestingMembrane as RestingMembrane,
)
from .simulate import (
    simulate as simulate,
)
from .spike_surrogates import (
    Arctan as Arctan,
    FastSigmoid as FastSigmoid,
    Sigmoid as Sigmoid,
    Triangle as Triangle,
)
from .stimuli import (
    AbstractStimulus as AbstractStimulus,
    HeldCurrent as HeldCurrent,
    PulseTrain as PulseTrain,
    RampCurrent as RampCurrent,
    SampledCurrent as SampledCurrent,
    SineCurrent as SineCurrent,
    SpikeInput as SpikeInput,
    StepCurrent as StepCurrent,
)
from .sweep import (
    SweepResult as SweepResult,
    estimate_spike_counts as estimate_spike_counts,
    spike_summary as spike_summary,
    sweep as sweep,
)
from .trace import (
    Trace as Trace,
)
from .transforms import (
    Bounded as Bounded,
    Identity as Identity,
    LogBounded as LogBounded,
    Negative as Negative,
    Positive as Positive,
)

__version__: str
