"""Config: defaults, TOML round trip, overrides, presets, .env mapping and every error path."""

import dataclasses
import tomllib

import pytest

from spiking.config import (
    PROJECTION_NAMES,
    Config,
    default_config,
    diff_from_defaults,
    from_mapping,
    load_config,
    read_env_file,
    to_toml,
)
from spiking.errors import ConfigError


def test_defaults_are_the_original_model():
    c = default_config()
    assert (c.run.simulation_time, c.stimulus.switch_every) == (1000.0, 250.0)
    assert (c.network.hypercolumns, c.network.exposed_hypercolumns) == (9, 1)
    assert (c.network.minicolumn_side, c.network.neurons_per_minicolumn) == (10, 30)
    assert (c.retina.max_rate, c.retina.min_rate) == (100.0, 5.0)
    g = c.retina.gabor
    assert (g.lambda_, g.theta, g.gamma, g.sigma, g.psi, g.ksize) == (3.0, 0.0, 2.0, 5.0, 0.0, 10)
    ex, inh = c.neurons.excitatory, c.neurons.inhibitory
    assert (ex.a, ex.b, ex.c, ex.d, ex.v_peak) == (0.02, 0.2, -65.0, 8.0, 30.0)
    assert (inh.a, inh.b, inh.c, inh.d, inh.v_peak) == (0.1, 0.2, -65.0, 2.0, 30.0)
    assert len(c.projections) == 18 and tuple(c.projections) == PROJECTION_NAMES
    p = c.projections
    assert p["retina_on_to_lgn_on"].mask == "one_to_one"
    assert (p["lgn_on_to_ex_on"].radius, p["lgn_on_to_ex_on"].kernel, p["lgn_on_to_ex_on"].weight) == (
        0.1,
        "constant",
        1.0,
    )
    assert (p["ex_on_to_ex_on"].radius, p["ex_on_to_ex_on"].sigma, p["ex_on_to_ex_on"].weight) == (1.0, 0.15, 1.0)
    assert p["in_off_to_ex_on"].weight == -2.0 and p["in_on_to_in_off"].weight == -0.5
    assert all(x.delay == 1.0 and x.delay_per_unit == 0.0 for x in p.values())


def test_toml_round_trip_keeps_every_key():
    c = from_mapping(
        {
            "network": {"hypercolumns": 4},
            "stimulus": {"epochs": [{"pattern": "pattern1", "duration": 30}]},
            "projections": {"ex_on_to_ex_on": {"delay_per_unit": 2.5}},
        }
    )
    text = to_toml(c)
    assert "[ms]" in text and "[Hz]" in text and "[mV]" in text
    back = from_mapping(tomllib.loads(text))
    assert back == c
    assert back.projections["ex_on_to_ex_on"].delay_per_unit == 2.5
    assert back.stimulus.epochs[0].duration == 30.0


def test_overrides_and_preset(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[network]\nhypercolumns = 4\n[run]\nseed = 7\n")
    c, _ = load_config(
        f, overrides=["run.seed=9", "retina.gabor.lambda=4.5", "stimulus.patterns=['pattern1']"], preset="small"
    )
    assert c.network.hypercolumns == 4  # file beats preset
    assert c.run.simulation_time == 400.0  # from the preset
    assert c.run.seed == 9  # --set beats the file
    assert c.retina.gabor.lambda_ == 4.5
    assert c.stimulus.patterns == ["pattern1"]
    keys = {k for k, _, _ in diff_from_defaults(c)}
    assert {"network.hypercolumns", "run.seed", "retina.gabor.lambda"} <= keys


@pytest.mark.parametrize(
    "data, key, words",
    [
        ({"network": {"hypercolumn": 9}}, "network.hypercolumn", "unknown key; valid keys here: hypercolumns"),
        ({"netwrk": {}}, "netwrk", "unknown key"),
        ({"network": {"hypercolumns": "nine"}}, "network.hypercolumns", "must be an integer, got 'nine'"),
        ({"network": {"hypercolumns": 4.0}}, "network.hypercolumns", "must be an integer"),
        ({"run": {"simulate": 1}}, "run.simulate", "must be a boolean"),
        ({"network": {"hypercolumns": 8}}, "network.hypercolumns", "must be a square number"),
        ({"network": {"hypercolumns": 0}}, "network.hypercolumns", "square number >= 1"),
        (
            {"network": {"exposed_hypercolumns": 10}},
            "network.exposed_hypercolumns",
            "must be <= network.hypercolumns (9), got 10",
        ),
        ({"run": {"simulation_time": -5}}, "run.simulation_time", "must be > 0, got -5"),
        ({"retina": {"min_rate": 50.0, "max_rate": 10.0}}, "retina.max_rate", "must be >= retina.min_rate"),
        (
            {"projections": {"ex_on_to_ex_on": {"p_center": 1.5}}},
            "projections.ex_on_to_ex_on.p_center",
            "probability in [0, 1]",
        ),
        ({"projections": {"ex_to_ex": {}}}, "projections.ex_to_ex", "unknown projection; valid: retina_on_to_lgn_on"),
        (
            {"projections": {"ex_on_to_ex_on": {"mask": "square"}}},
            "projections.ex_on_to_ex_on.mask",
            "one of 'one_to_one', 'circle'",
        ),
        (
            {"projections": {"ex_on_to_ex_on": {"delay": 0.01}}},
            "projections.ex_on_to_ex_on.delay",
            "must be >= run.resolution",
        ),
        ({"recording": {"layers": ["ex_on", "retina_on"]}}, "recording.layers", "unknown layer 'retina_on'"),
        (
            {"stimulus": {"epochs": [{"pattern": "pattern0"}, {"duration": -1}]}},
            "stimulus.epochs[1].duration",
            "must be > 0",
        ),
        ({"stimulus": {"epochs": "pattern0"}}, "stimulus.epochs", "must be a list"),
        ({"network": {"excitatory_fraction": 0.7}}, "network.inhibitory_fraction", "must be 1"),
        ({"run": {"simulation_time": 100.05}}, "run.simulation_time", "multiple of run.resolution"),
        ({"run": {"name": "../../etc"}}, "run.name", "only letters, digits"),
        ({"run": {"simulation_time": float("inf")}}, "run.simulation_time", "finite"),
        ({"network": 3}, "network", "must be a table"),
        ({"retina": {"filter": "mexican"}}, "retina.filter", "one of 'gabor', 'dog'"),
        (
            {"retina": {"dog": {"sigma_centre": 2.0, "sigma_surround": 1.5}}},
            "retina.dog.sigma_surround",
            "must be larger than retina.dog.sigma_centre (2.0), got 1.5",
        ),
        ({"retina": {"dog": {"surround_weight": 1.5}}}, "retina.dog.surround_weight", "must be in [0, 1]"),
    ],
)
def test_bad_values_name_the_key_and_the_rule(data, key, words):
    with pytest.raises(ConfigError) as info:
        from_mapping(data)
    assert info.value.key == key
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[network\nhypercolumns = 4")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="unknown preset 'huge'; available: small"):
        load_config(preset="huge")
    with pytest.raises(ConfigError, match="--set needs a dotted key"):
        load_config(overrides=["hypercolumns=4"])


def test_env_file_maps_the_original_keys(tmp_path):
    env = tmp_path / ".env"
    env.write_text(
        "LOCAL_NUM_THREADS=8\nSIMULATION_TIME=500\nCHANGE_PATTERN_STEP=125\nHYPER_COLUMNS=4\n"
        "HYPER_COLUMNS_EXPOSED=1\nLAMBDA=3\nKSIZE=10\nGROUP_FRAMES=0\nPLOT_LAYERS=True\nPLAY_IT=False\nFOO=1\n"
    )
    data, notes = read_env_file(env)
    c, notes2 = load_config(env_file=env)
    assert c.run.threads == 8 and c.run.simulation_time == 500.0 and c.stimulus.switch_every == 125.0
    assert c.network.hypercolumns == 4 and c.retina.gabor.lambda_ == 3.0 and c.render.plot_layers is True
    assert c.render.frame_ms == c.run.resolution  # GROUP_FRAMES=0 meant one frame per time step
    assert any(n.startswith("HYPER_COLUMNS -> network.hypercolumns") for n in notes2)
    assert any(n.startswith("FOO ignored") for n in notes2)
    assert any(n.startswith("PLAY_IT ignored") for n in notes2)


def test_config_is_immutable():
    c = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.run.seed = 3  # frozen dataclass


def test_docs_config_reference_matches_the_code():
    from pathlib import Path

    from spiking.config import reference_markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "config.md"
    assert doc.read_text() == reference_markdown(), "regenerate with: python -m spiking.config > docs/config.md"
