"""A fixed HH sweep into a store, run both in a subprocess (to be killed) and in-process."""

import sys

import jax
import numpy as np

N_SETS, CHUNK = 320, 32


def run(path, **kwargs):
    jax.config.update("jax_enable_x64", True)
    import jaxneuron as jn

    g_na = np.linspace(80.0, 160.0, N_SETS)
    amplitude = np.linspace(4.0, 16.0, N_SETS)[::-1].copy()
    return jn.sweep(jn.HodgkinHuxley(), {"g_Na": g_na}, jn.StepCurrent(10.0),
                    stimulus_params={"amplitude": amplitude}, t1=200.0, dt=0.025,
                    chunk_size=CHUNK, store=path, progress=False, **kwargs)


if __name__ == "__main__":
    run(sys.argv[1])
