"""The retina's spikes as pre-drawn Poisson trains: statistics, determinism, injection into NEST, and equivalence: the slow part (``make test-slow``); the rest is in ``tests/test_trains.py``."""

from spiking.config import from_mapping


def test_trains_and_generators_give_the_same_v1_rates_over_seeds(tmp_path):
    """Both formulations of the input drive V1 alike.

    One hypercolumn at the default density (V1 is silent when thinner), 300 ms,
    five seeds per formulation; per-layer mean rates agree within 10% or 3
    standard errors of the difference, whichever is larger
    (:func:`spiking.validate.compare.compare_rates`).
    """
    from spiking.run import run
    from spiking.validate.compare import compare_rates

    rates = {"generators": {}, "trains": {}}
    for source, by_layer in rates.items():
        for seed in range(1, 6):
            cfg = from_mapping(
                {
                    "network": {"hypercolumns": 1},
                    "run": {"simulation_time": 300.0, "threads": 2, "seed": seed, "output_dir": str(tmp_path)},
                    "stimulus": {"switch_every": 100.0},
                    "retina": {"source": source},
                }
            )
            m = run(cfg, progress=False, quiet=True).manifest
            for layer, s in m["spikes"].items():
                by_layer.setdefault(layer, []).append(s["mean_rate_hz"])
    result = compare_rates(rates["generators"], rates["trains"])
    assert {r.layer for r in result} == {"ex_on", "ex_off", "in_on", "in_off"}
    for r in result:
        assert r.mean_a > 0.5, r  # V1 is active: the comparison means something
        assert r.agree, r
