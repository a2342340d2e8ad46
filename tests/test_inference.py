"""Bayesian inference: priors, calibration tools, NPE on a toy problem with an analytic
posterior, NUTS through the solver against the analytic posterior of a linear model,
many-restart fits, and the `infer` workflow."""

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jaxneuron as jn
from jaxneuron.inference.bayes import NutsSampler, likelihood_model
from jaxneuron.inference.calibration import (
    c2st,
    central_interval_hits,
    coverage,
    coverage_interval,
    sbc_ranks,
)
from jaxneuron.inference.npe import simulate_observations, train_npe
from jaxneuron.inference.priors import LogUniform, Prior, Uniform
from jaxneuron.inference.restarts import fit_restarts
from jaxneuron.transforms import LogBounded

# ---------------------------------------------------------------- priors


def test_prior_samples_respect_bounds_and_follow_their_distributions():
    prior = Prior({"g_Na": LogUniform(60.0, 240.0), "g_K": (18.0, 72.0)})
    theta = np.asarray(prior.sample(jax.random.key(0), 4000))
    assert theta.shape == (4000, 2)
    assert np.all(np.asarray(prior.contains(theta)))
    # log-uniform: log(theta) uniform on (log 60, log 240); uniform on (18, 72)
    assert stats.kstest(np.log(theta[:, 0]), stats.uniform(np.log(60), np.log(4)).cdf
                        ).pvalue > 0.01
    assert stats.kstest(theta[:, 1], stats.uniform(18, 54).cdf).pvalue > 0.01


def test_prior_log_prob_matches_scipy_and_is_minus_inf_outside():
    prior = Prior({"a": LogUniform(2.0, 50.0), "b": Uniform(-1.0, 3.0)})
    theta = np.array([[3.0, 0.5], [40.0, -0.9]])
    expected = stats.loguniform(2.0, 50.0).logpdf(theta[:, 0]) + stats.uniform(
        -1.0, 4.0).logpdf(theta[:, 1])
    np.testing.assert_allclose(prior.log_prob(theta), expected, rtol=1e-12)
    assert np.all(np.isneginf(np.asarray(prior.log_prob(np.array([[1.0, 0.0], [3.0, 4.0]])))))


def test_unconstrained_map_round_trips_stays_inside_and_has_the_analytic_jacobian():
    prior = Prior({"a": LogUniform(2.0, 50.0), "b": Uniform(-1.0, 3.0)})
    u = jnp.array([[-40.0, 40.0], [0.3, -1.2], [3.0, 0.0]])
    theta = prior.from_unconstrained(u)
    assert np.all(np.asarray(theta[:, 0]) >= 2.0) and np.all(np.asarray(theta[:, 0]) <= 50.0)
    np.testing.assert_allclose(prior.to_unconstrained(theta[1:]), u[1:], rtol=1e-10)
    # d theta/du: b = low + (high - low) s(u) -> (high - low) s (1 - s);
    # a = exp(log lo + L s(u)) -> a L s (1 - s), with L = log(high / low)
    s = 1.0 / (1.0 + np.exp(-np.asarray(u[1:])))
    slope_a = np.asarray(theta[1:, 0]) * np.log(25.0) * s[:, 0] * (1 - s[:, 0])
    slope_b = 4.0 * s[:, 1] * (1 - s[:, 1])
    np.testing.assert_allclose(prior.log_abs_det_jacobian(u[1:]),
                               np.log(slope_a) + np.log(slope_b), rtol=1e-10)


@pytest.mark.parametrize("bad", [lambda: Uniform(2.0, 1.0), lambda: LogUniform(0.0, 1.0),
                                 lambda: Uniform(0.0, np.inf), lambda: Prior({}),
                                 lambda: Prior({"g_Na": "wide"}), lambda: LogBounded(3.0, 2.0)])
def test_bad_prior_specifications_raise(bad):
    with pytest.raises(ValueError):
        bad()


def test_unknown_parameter_names_raise_clear_errors():
    model, stim = jn.HodgkinHuxley(), jn.StepCurrent(10.0)
    prior = Prior({"g_Na": (50.0, 200.0), "g_Xx": (1.0, 2.0)})
    with pytest.raises(ValueError, match=r"prior: unknown parameter\(s\) \['g_Xx'\]"):
        prior.check(model)
    with pytest.raises(ValueError, match="g_Xx"):
        likelihood_model(model, stim, prior, t1=5.0)
    with pytest.raises(ValueError, match="g_Xx"):
        NutsSampler(model, stim, prior=prior, t1=5.0)
    with pytest.raises(ValueError, match="g_Xx"):
        fit_restarts(model, stim, jnp.zeros(3), prior=prior, t1=5.0, key=jax.random.key(0))
    with pytest.raises(ValueError, match="g_Xx"):
        simulate_observations(model, stim, prior, np.ones((2, 2)), key=jax.random.key(0),
                              t1=5.0)
    with pytest.raises(ValueError, match="values: missing"):
        prior.from_dict({"g_Na": 1.0})


# ---------------------------------------------------------------- calibration tools


def test_c2st_is_half_for_equal_distributions_and_one_for_separated_ones():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(500, 2)), rng.normal(size=(500, 2))
    assert c2st(a, b) == pytest.approx(0.5, abs=0.06)
    assert c2st(a, b + 6.0) > 0.98


def test_coverage_is_nominal_for_the_exact_posterior_and_low_for_an_overconfident_one():
    # theta ~ N(0, 1), x = theta + N(0, 1): posterior N(x / 2, 1 / 2) exactly
    rng = np.random.default_rng(1)
    n_obs, n_draws = 600, 400
    theta = rng.normal(size=(n_obs, 1))
    x = theta + rng.normal(size=(n_obs, 1))
    exact = x[:, None, :] / 2 + np.sqrt(0.5) * rng.normal(size=(n_obs, n_draws, 1))
    low, high = coverage_interval(0.9, n_obs)
    assert low <= coverage(exact, theta)[0] <= high
    narrow = x[:, None, :] / 2 + np.sqrt(0.5) / 3 * rng.normal(size=(n_obs, n_draws, 1))
    # a third of the width: P(|z| < 1.645 / 3) = 0.417
    assert coverage(narrow, theta)[0] == pytest.approx(0.417, abs=0.06)
    assert coverage_interval(0.9, 100) == pytest.approx((0.9 - 0.0588, 0.9 + 0.0588),
                                                        abs=1e-4)


def test_interval_hits_and_sbc_ranks_by_hand():
    draws = np.arange(1.0, 101.0)[None, :, None] * np.ones((2, 1, 1))  # 1..100
    truths = np.array([[50.5], [97.0]])
    # central 90 % interval of 1..100 (linear quantiles): [5.95, 95.05]
    np.testing.assert_array_equal(central_interval_hits(draws, truths), [[True], [False]])
    np.testing.assert_array_equal(sbc_ranks(draws, truths), [[50], [96]])
    with pytest.raises(ValueError, match="samples must have shape"):
        coverage(draws[0], truths)


# ---------------------------------------------------------------- NPE


@pytest.mark.slow  # ~30 s of CPU, mostly compiling the flow's training, sampling, density
def test_npe_recovers_an_analytic_gaussian_posterior_and_respects_the_bounds():
    """theta ~ U(-3, 3)^2, x = theta + N(0, 0.5^2): the posterior is N(x, 0.25) truncated to
    the box; reference draws come from SciPy's truncnorm."""
    prior = Prior({"a": (-3.0, 3.0), "b": (-3.0, 3.0)})
    key_t, key_fit, key_s = jax.random.split(jax.random.key(0), 3)
    theta = prior.sample(key_t, 4000)
    # the simulator is noise-free (x = theta); `augment` adds fresh noise every batch
    posterior, history = train_npe(theta, theta, prior, key=key_fit, flow_layers=2,
                                   nn_width=32, batch_size=128, max_epochs=30, patience=5,
                                   progress=False,
                                   augment=lambda k, x: x + 0.5 * jax.random.normal(k, x.shape))
    assert history.val[history.best_epoch] < history.val[0]
    x_obs = np.array([0.4, -2.6])  # the second coordinate is near a bound
    draws = np.asarray(posterior.sample(key_s, x_obs, 1000))
    lo, hi = (-3.0 - x_obs) / 0.5, (3.0 - x_obs) / 0.5
    reference = stats.truncnorm(lo, hi, loc=x_obs, scale=0.5).rvs(
        size=(1000, 2), random_state=np.random.default_rng(2))
    assert c2st(draws, reference) <= 0.6
    # bounds hold even for an observation far outside the training data
    far = np.asarray(posterior.sample(key_s, np.array([40.0, -40.0]), 500))
    assert np.all((far > -3.0) & (far < 3.0))
    # log_prob is a normalised density: integrate it on a grid (analytic value 1)
    grid = np.linspace(-2.999, 2.999, 161)
    a, b = np.meshgrid(grid, grid, indexing="ij")
    density = np.exp(np.asarray(posterior.log_prob(np.stack([a, b], -1), x_obs)))
    assert np.trapezoid(np.trapezoid(density, grid, axis=1), grid) == pytest.approx(1.0,
                                                                                    abs=0.03)
    assert np.isneginf(float(posterior.log_prob(np.array([3.5, 0.0]), x_obs)))


def test_train_npe_rejects_bad_data():
    prior = Prior({"a": (0.0, 1.0)})
    theta = np.full((600, 1), 0.5)
    with pytest.raises(ValueError, match="x must have shape"):
        train_npe(theta, np.zeros((599, 2)), prior, key=jax.random.key(0))
    with pytest.raises(ValueError, match="inside the prior bounds"):
        train_npe(theta + 1.0, np.zeros((600, 2)), prior, key=jax.random.key(0))
    with pytest.raises(ValueError, match="finite"):
        train_npe(theta, np.full((600, 2), np.nan), prior, key=jax.random.key(0))


# ---------------------------------------------------------------- NUTS and restarts

# A passive membrane (LIF with an unreachable threshold) under a step of I nA from t = 0:
# V(t) = V_rest + R I (1 - exp(-t / tau_m)), linear in R. With Gaussian noise of known sigma
# and a flat prior, the posterior of R is Gaussian with mean sum(a y) / sum(a^2) and
# variance sigma^2 / sum(a^2), a(t) = I (1 - exp(-t / tau_m)), y = V - V_rest.
PASSIVE = {"t1": 30.0, "dt": 0.5, "save_every": 1.0}  # exponential steps: exact here
TAU, R_TRUE, CURRENT, NOISE = 10.0, 12.0, 1.5, 1.0


def passive_observation():
    model = jn.LIF(tau_m=TAU, R=R_TRUE, V_th=1000.0)
    clean = jn.simulate(model, jn.StepCurrent(CURRENT), **PASSIVE).v
    return clean + NOISE * jax.random.normal(jax.random.key(3), clean.shape)


@pytest.mark.slow  # 30-40 s on 2 cores: keeps make test under 15 minutes
def test_nuts_matches_the_analytic_posterior_of_a_linear_model(tmp_path):
    """Unknown R and sigma, flat prior on R, log-uniform (Jeffreys, p ∝ 1/sigma) prior on
    sigma: the marginal posterior of R is Student-t with n - 1 degrees of freedom, centred
    on the least-squares R with scale s / sqrt(sum a^2), s^2 = RSS / (n - 1); and
    RSS / sigma^2 ~ chi^2 with n - 1 degrees of freedom (Gelman et al., BDA3, sec. 3.2)."""
    observed = np.asarray(passive_observation())
    ts = np.arange(observed.size) * PASSIVE["save_every"]
    a = CURRENT * (1.0 - np.exp(-ts / TAU))
    y = observed + 65.0
    r_hat = np.sum(a * y) / np.sum(a**2)
    rss = np.sum((y - r_hat * a) ** 2)
    dof = observed.size - 1
    r_posterior = stats.t(dof, loc=r_hat, scale=np.sqrt(rss / dof / np.sum(a**2)))
    sigma_median = np.sqrt(rss / stats.chi2(dof).median())

    sampler = NutsSampler(jn.LIF(tau_m=TAU, V_th=1000.0), jn.StepCurrent(CURRENT),
                          prior=Prior({"R": (2.0, 40.0)}), num_warmup=200, num_samples=400,
                          num_chains=2, dense_mass=False, **PASSIVE)  # cheaper to compile
    with pytest.raises(ValueError, match="init"):  # checked before any sampling
        sampler.run(observed, key=jax.random.key(1), init={"R": 100.0, "sigma": 2.0})
    result = sampler.run(observed, key=jax.random.key(0), init={"R": 10.0, "sigma": 2.0})
    assert result.names == ("R", "sigma")
    draws, sigma = result.samples["R"], result.samples["sigma"]
    assert draws.shape == (2, 400)
    diagnostics = result.diagnostics()
    assert max(diagnostics["rhat"].values()) < 1.02 and diagnostics["divergences"] == 0
    mcse = draws.std() / np.sqrt(diagnostics["ess_bulk"]["R"])
    assert abs(draws.mean() - r_posterior.mean()) < 4 * mcse
    assert draws.std() == pytest.approx(r_posterior.std(), rel=0.15)
    assert np.median(sigma) == pytest.approx(sigma_median, rel=0.08)

    path = tmp_path / "posterior.nc"
    result.to_netcdf(path)
    import arviz as az

    loaded = az.from_netcdf(str(path))
    np.testing.assert_allclose(loaded.posterior["R"].values, draws)


def test_nuts_rejects_bad_options():
    with pytest.raises(ValueError, match="chain_method"):
        NutsSampler(jn.LIF(), jn.StepCurrent(1.0), prior=Prior({"R": (1.0, 2.0)}), t1=1.0,
                    chain_method="threads")
    with pytest.raises(ValueError, match="num_samples"):
        NutsSampler(jn.LIF(), jn.StepCurrent(1.0), prior=Prior({"R": (1.0, 2.0)}), t1=1.0,
                    num_samples=0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        likelihood_model(jn.LIF(), jn.StepCurrent(1.0), Prior({"R": (1.0, 2.0)}), t1=1.0,
                         sigma=-1.0)


def test_restarts_recover_two_parameters_in_one_vmapped_call():
    model = jn.LIF(tau_m=TAU, R=R_TRUE, V_th=1000.0)
    target = jn.simulate(model, jn.StepCurrent(CURRENT), **PASSIVE).v
    prior = Prior({"R": (2.0, 40.0), "tau_m": LogUniform(2.0, 50.0)})
    result = fit_restarts(jn.LIF(V_th=1000.0), jn.StepCurrent(CURRENT), target, prior=prior,
                          key=jax.random.key(0), n_restarts=4, steps=30, **PASSIVE)
    assert result.best["R"] == pytest.approx(R_TRUE, rel=1e-4)
    assert result.best["tau_m"] == pytest.approx(TAU, rel=1e-4)
    assert result.theta.shape == (4, 2) and result.loss_history.shape == (4, max(result.steps) + 1)
    assert np.all(np.diff(result.loss) >= 0)  # sorted best first
    assert np.all(np.asarray(prior.contains(result.theta)))
    assert set(result.top(2)) == {"R", "tau_m"}
    with pytest.raises(ValueError, match="n_restarts"):
        fit_restarts(model, jn.StepCurrent(1.0), target, prior=prior, key=jax.random.key(0),
                     n_restarts=0, **PASSIVE)


# ---------------------------------------------------------------- workflow


def test_infer_command_registers_and_rejects_unknown_methods():
    from jaxneuron.apps.workflows import infer

    parser = argparse.ArgumentParser()
    infer.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["infer", "--method", "nuts", "--quick", "--out", "x"])
    assert (args.method, args.quick, args.out) == ("nuts", True, "x")
    with pytest.raises(ValueError, match="method must be one of"):
        infer.run("unused", method="mcmc")
    with pytest.raises(ValueError, match="features must be one of"):
        infer.run("unused", method="npe", features="raw")
    args = parser.parse_args(["infer", "--features", "summaries"])
    assert (args.method, args.features) == ("npe", "summaries")


def test_npe_summary_features_are_the_sbi_statistics_of_each_trace():
    from jaxneuron.analysis.summaries import SBI_HH_NAMES, hh_summary_statistics
    from jaxneuron.apps.workflows import infer

    ts = np.arange(71) * 0.5
    featurize, embedding = infer.npe_features("summaries", ts)
    traces = -65.0 + np.random.default_rng(0).normal(0.0, 3.0, (3, 71))
    traces[1, 45:48] = [20.0, 30.0, 0.0]  # one spike inside the depolarising step
    got = np.asarray(featurize(jnp.asarray(traces)))
    assert embedding is None and got.shape == (3, len(SBI_HH_NAMES))
    for row, v in zip(got, traces, strict=True):
        stats = hh_summary_statistics(jnp.asarray(ts), jnp.asarray(v), t_on=20.0, t_off=30.0)
        np.testing.assert_allclose(row, [stats[k] for k in SBI_HH_NAMES], rtol=1e-12)
    assert got[:, 0].tolist() == [0.0, 1.0, 0.0]  # spike counts
    identity, embedding = infer.npe_features("trace", ts)
    assert embedding == 16 and identity(traces) is traces


@pytest.mark.slow
def test_infer_fit_workflow_recovers_the_conductances(tmp_path):
    import json

    from jaxneuron.apps.workflows import infer

    summary = infer.run(tmp_path, method="fit", quick=True, log=lambda *_: None)
    assert json.loads((tmp_path / "summary.json").read_text())["method"] == "fit"
    # 3 mV noise on 71 samples: the least-squares estimate lies within a few % of the truth
    for name, error in summary["relative_error"].items():
        assert error < 0.05, name
    # the best residual is close to the noise variance (9 mV²)
    assert summary["best_loss_mV2"] == pytest.approx(9.0, rel=0.4)
    assert (tmp_path / "fit.png").stat().st_size > 0
