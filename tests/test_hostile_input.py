"""Hostile and broken input: any TOML loads into a valid config or fails in one line; images likewise; paths stay put."""

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spiking.config import PROJECTION_NAMES, apply_overrides, default_config, from_mapping, to_mapping
from spiking.errors import ConfigError, StimulusError
from spiking.model.stimulus import MAX_IMAGE_PIXELS, load_image

KEYS = {section: list(values) for section, values in to_mapping(default_config()).items() if isinstance(values, dict)}

scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.just("pattern0"),
    st.just("\x00"),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def config_documents(draw):
    """Mostly-plausible documents: real sections and keys with arbitrary values, plus junk keys."""
    doc = {}
    for section in draw(st.lists(st.sampled_from(list(KEYS) + ["junk"]), max_size=4, unique=True)):
        keys = KEYS.get(section, ["x"])
        if section == "projections":
            doc[section] = {
                draw(st.sampled_from(list(PROJECTION_NAMES) + ["nope"])): draw(
                    st.dictionaries(
                        st.sampled_from(
                            [
                                "mask",
                                "radius",
                                "kernel",
                                "p_center",
                                "sigma",
                                "weight",
                                "delay",
                                "delay_per_unit",
                                "bad",
                            ]
                        ),
                        values,
                        max_size=3,
                    )
                )
            }
        else:
            doc[section] = draw(st.dictionaries(st.sampled_from(keys + ["unknown"]), values, max_size=4))
    if draw(st.booleans()):
        doc[draw(st.text(max_size=5))] = draw(values)
    return doc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config_documents())
def test_any_document_is_a_valid_config_or_one_line_config_error(doc):
    try:
        cfg = from_mapping(doc)
    except ConfigError as err:
        msg = str(err)
        assert msg and "\n" not in msg and err.key is not None
        return
    # whatever loaded is a config that validates again after a round trip
    assert from_mapping(to_mapping(cfg)) == cfg


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_any_toml_text_parses_or_fails_cleanly(tmp_path_factory, text):
    from spiking.config import load_config

    path = tmp_path_factory.mktemp("t") / "c.toml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as err:
        assert "\n" not in str(err)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=30), max_size=3))
def test_any_set_override_loads_or_fails_cleanly(overrides):
    try:
        from_mapping(apply_overrides({}, overrides))
    except ConfigError as err:
        assert "\n" not in str(err)


def _png(arr, mode=None, fmt="PNG", **kw):
    from PIL import Image

    im = Image.fromarray(arr) if mode is None else Image.fromarray(arr).convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_random_bytes_are_an_image_or_a_one_line_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("img") / "x.png"
    path.write_bytes(data)
    try:
        img = load_image(path)
    except StimulusError as err:
        assert "\n" not in str(err)
    else:
        assert img.ndim == 2 and img.min() >= 0 and img.max() <= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.integers(1, 40),
    st.integers(1, 40),
    st.sampled_from(["L", "1", "P", "RGB", "RGBA", "LA", "I;16", "I", "F"]),
    st.sampled_from(["PNG", "JPEG"]),
    st.integers(0, 2**31),
)
def test_image_modes_and_truncations(tmp_path, h, w, mode, fmt, seed):
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    if mode == "I;16":
        data = _png(rng.integers(0, 65536, (h, w), dtype=np.uint16))
        fmt = "PNG"
    else:
        if fmt == "JPEG" and mode not in ("L", "RGB"):
            fmt = "PNG"
        try:
            data = _png(rgb, mode, fmt)
        except OSError:
            data = _png(rgb, None, "PNG")
    path = tmp_path / f"img-{seed}"
    path.write_bytes(data)
    img = load_image(path)
    assert img.shape == (h, w) and img.min() >= 0 and img.max() <= 1
    cut = rng.integers(1, len(data))
    path.write_bytes(data[:cut])
    try:
        img = load_image(path)
    except StimulusError as err:
        assert "\n" not in str(err)
    else:
        assert img.min() >= 0 and img.max() <= 1


def test_huge_images_are_refused_with_the_limit(tmp_path):
    from PIL import Image

    side = int(np.sqrt(MAX_IMAGE_PIXELS)) + 10
    path = tmp_path / "huge.png"
    Image.new("1", (side, side)).save(path)  # 1-bit: small file, huge image
    with pytest.raises(StimulusError, match=f"larger than the limit of {MAX_IMAGE_PIXELS} pixels"):
        load_image(path)


def test_run_names_cannot_leave_the_output_folder():
    for name in ("../x", "a/b", "..", "/etc", "a\\b", "x" * 65):
        with pytest.raises(ConfigError, match="run.name"):
            from_mapping({"run": {"name": name}})


def test_run_id_stays_in_the_output_folder(tmp_path):
    from spiking.io.runfolder import create_run_folder

    folder = create_run_folder(tmp_path / "out", "20260101-000000-1hc-10ms")
    again = create_run_folder(tmp_path / "out", "20260101-000000-1hc-10ms")
    assert folder.parent == again.parent == tmp_path / "out" and folder != again
    assert again.name.endswith("-2")
