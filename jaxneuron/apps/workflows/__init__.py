"""The workflows behind the `jaxneuron` command and the `examples/` scripts.

Each module holds one workflow: a `run(out, ...)` function that does the work, writes CSV,
JSON (`summary.json` with the headline metrics) and PNG files into `out` and returns the
summary, plus `register(commands)`, which adds its sub-command to the CLI. The CLI and the
example scripts both call `run`, so the two never drift apart.
"""

WORKFLOWS = (
    "demo",
    "hh_simulate",
    "spiking",
    "resting",
    "surrogate",
    "criticality",
    "generalized",
    "recurrent",
    "sweep_command",
    "hh_exploration",
    "bio_vs_artificial",
    "izhikevich_network",
    "digits",
    "infer",
    "fit_recording_command",
    "import_model_command",
)
