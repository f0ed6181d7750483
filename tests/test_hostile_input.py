"""Hostile and broken input: what the user gives is accepted or refused in one line, as the user sees it.

Refused: ``spiking config`` exits with status 2, prints nothing on stdout and
one line on stderr, ``spiking: error:`` and the error's whole message (control
characters shown as escapes), never a traceback. Accepted: status 0, nothing
on stderr, and on stdout the resolved config, which reads back into the same
config and holds the values given. Images are refused naming the file and
saying why, or load as grey levels in [0, 1] of the image's size. Paths stay put.
"""

import io
import json
import math
import re
import tomllib
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from spiking.cli import main
from spiking.config import apply_overrides, default_config, from_mapping, load_config, to_mapping
from spiking.errors import ConfigError, StimulusError
from spiking.model.stimulus import MAX_IMAGE_PIXELS, load_image

DEFAULTS = to_mapping(default_config())

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


def near(default):
    """What a key might be given: a value of its default's kind (often valid), or anything at all."""
    if isinstance(default, dict):
        optional = {key: near(value) for key, value in default.items()}
        table = st.fixed_dictionaries({}, optional=optional)
        return st.one_of(table, table, table, values)
    if isinstance(default, bool):
        kind = st.booleans()
    elif isinstance(default, int):
        kind = st.integers(0, 2 * default + 4)
    elif isinstance(default, float):
        lo, hi = sorted((0.0, 2.0 * default))
        kind = st.floats(lo, hi + 1.0)
    else:
        kind = st.just(default)
    return st.one_of(kind, kind, kind, values)


@st.composite
def config_documents(draw):
    """Mostly-plausible documents: real sections and keys with values near their defaults or arbitrary, junk keys."""
    doc = draw(st.fixed_dictionaries({}, optional={section: near(d) for section, d in DEFAULTS.items()}))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # junk: an unknown key at the top or in a table
        table = draw(st.sampled_from([doc, *(v for v in doc.values() if isinstance(v, dict))]))
        table[draw(st.sampled_from(["junk", "unknown", *DEFAULTS]) | st.text(max_size=5))] = draw(values)
    return doc


def spiking(*argv: str) -> tuple[int, str, str]:
    """``spiking ARGV`` run in this process: the exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as leaving:  # argparse's own refusals leave this way
            status = leaving.code
    return status, out.getvalue(), err.getvalue()


def outcome(load):
    """``(config, None)`` when ``load()`` accepts, ``(None, error)`` when it refuses with a ConfigError."""
    try:
        return load(), None
    except ConfigError as err:
        return None, err


def assert_refused(result, error: ConfigError) -> None:
    """Status 2, nothing on stdout, and on stderr one line: ``spiking: error:`` and the error's whole message."""
    status, out, err = result
    assert (status, out) == (2, ""), result
    assert err == f"spiking: error: {error}\n" and err.count("\n") == 1, err
    assert all(ch.isprintable() for ch in err[:-1]), err


def assert_accepted(result, cfg) -> None:
    """Status 0, nothing on stderr, and on stdout ``cfg`` as TOML that reads back into it."""
    status, out, err = result
    assert (status, err) == (0, ""), result
    assert from_mapping(tomllib.loads(out)) == cfg


def assert_holds(mapping: dict, given: dict, where: str = "") -> None:
    """Every value ``given`` for a key of the config is the config's value there."""
    for key, value in given.items():
        if isinstance(value, dict):
            assert_holds(mapping[key], value, f"{where}{key}.")
        else:
            assert mapping[key] == value, f"{where}{key}: given {value!r}, the config has {mapping[key]!r}"


def toml_text(doc: dict) -> str:
    """``doc`` as TOML: a ``key = value`` line per top-level key, tables inline."""
    return "".join(f"{_toml_key(key)} = {_toml_value(value)}\n" for key, value in doc.items())


def _toml_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else "inf" if v > 0 else "-inf"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return _toml_key(v)
    if isinstance(v, list):
        return "[" + ", ".join(map(_toml_value, v)) + "]"
    return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=config_documents())
def test_any_document_is_a_valid_config_or_one_line_config_error(tmp_path_factory, doc):
    path = tmp_path_factory.mktemp("doc") / "c.toml"
    path.write_text(toml_text(doc), encoding="utf-8")
    cfg, error = outcome(lambda: from_mapping(doc))
    result = spiking("config", str(path))
    event("refused" if error else "accepted")
    if error is None:
        assert_accepted(result, cfg)
        assert_holds(to_mapping(cfg), doc)
        assert from_mapping(to_mapping(cfg)) == cfg
    else:
        assert_refused(result, error)
        # the message names where the document is wrong
        assert any(error.key == key or error.key.startswith((f"{key}.", f"{key}[")) for key in doc), error.key


#: ``--set`` and TOML values as text, and what they mean (a bare word is a string in ``--set``).
ANY_VALUES = [
    ("4", 4),
    ("-3", -3),
    ("0.5", 0.5),
    ("1e3", 1000.0),
    ("true", True),
    ("'brian2'", "brian2"),
    ("nest", "nest"),
    ("[]", []),
    ("['pattern1', 'pattern0']", ["pattern1", "pattern0"]),
    ("inf", math.inf),
]


def kind_values(default) -> list[tuple[str, object]]:
    """Values of the kind of ``default`` as text, with what they mean: the default itself and one beside it."""
    if isinstance(default, bool):
        return [("true", True), ("false", False)]
    if isinstance(default, int):
        return [(str(default), default), (str(default + 1), default + 1)]
    if isinstance(default, float):
        return [(repr(default), default), (repr(default / 2), default / 2)]
    if isinstance(default, str):
        return [(json.dumps(default), default), (f"'{default}x'", f"{default}x")]
    return [(json.dumps(default), default)]


#: Every key of a section that holds a value, not a table, with the values of its kind.
SCALAR_KEYS = {
    f"{section}.{key}": kind_values(value)
    for section, table in DEFAULTS.items()
    if isinstance(table, dict)
    for key, value in table.items()
    if not isinstance(value, dict)
}


@st.composite
def key_values(draw):
    """A real key with a value of its kind or any value from :data:`ANY_VALUES`: ``(key, text, meaning)``."""
    key = draw(st.sampled_from(sorted(SCALAR_KEYS)))
    text, meaning = draw(st.sampled_from(SCALAR_KEYS[key]) | st.sampled_from(ANY_VALUES))
    return key, text, meaning


@st.composite
def overrides(draw):
    """A ``--set`` text, and ``(key, meaning)`` when it is a real key with a value of known meaning."""
    if draw(st.integers(0, 2)) == 0:
        return draw(st.text(max_size=30)), None
    key, text, meaning = draw(key_values())
    return f"{key}={text}", (key, meaning)


@settings(max_examples=100, deadline=None)
@given(st.lists(overrides(), max_size=3))
def test_any_set_override_loads_or_fails_cleanly(given_overrides):
    texts = [text for text, _ in given_overrides]
    cfg, error = outcome(lambda: from_mapping(apply_overrides({}, texts)))
    result = spiking("config", *(f"--set={text}" for text in texts))
    event("refused" if error else "accepted")
    if error is None:
        assert_accepted(result, cfg)
        meant = {key: value for _, (key, value) in filter(lambda o: o[1], given_overrides)}  # the last one counts
        for key, value in meant.items():
            section, name = key.split(".")
            assert to_mapping(cfg)[section][name] == value, (key, value)
    else:
        assert_refused(result, error)


@st.composite
def toml_texts(draw):
    """Any text, or TOML: ``[section]`` tables of ``key = value`` lines with the values above."""
    if draw(st.booleans()):
        return draw(st.text(max_size=200))
    tables: dict[str, list[str]] = {}
    for key, text, _ in draw(st.lists(key_values(), max_size=4)):
        section, name = key.split(".")
        tables.setdefault(section, []).append(f"{name} = {text}")
    return "".join(f"[{section}]\n" + "".join(f"{line}\n" for line in lines) for section, lines in tables.items())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=toml_texts())
def test_any_toml_text_parses_or_fails_cleanly(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("t") / "c.toml"
    path.write_text(text, encoding="utf-8")
    cfg, error = outcome(lambda: load_config(path)[0])
    result = spiking("config", str(path))
    event("refused" if error else "accepted")
    if error is None:
        assert_accepted(result, cfg)
        assert_holds(to_mapping(cfg), tomllib.loads(text))
    else:
        assert_refused(result, error)


def _png(arr, mode=None, fmt="PNG", **kw):
    from PIL import Image

    im = Image.fromarray(arr) if mode is None else Image.fromarray(arr).convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


#: Why an image is refused, after ``<path>: ``.
IMAGE_REFUSED = re.compile(
    r"not a readable PNG or JPEG image \(or larger than \d+ pixels\)|image cannot be read \(.+\)|image is empty"
    r"|image of \d+x\d+ pixels is larger than the limit of \d+ pixels"
)


def assert_image_refused(error: StimulusError, path) -> None:
    """The message names the file and says why it is refused."""
    msg, head = str(error), f"{path}: "
    assert msg.startswith(head) and IMAGE_REFUSED.fullmatch(msg[len(head) :]), msg


def assert_grey(img, shape) -> None:
    """Grey levels in [0, 1], one per pixel of an image of ``shape`` (rows, columns)."""
    assert img.shape == shape and img.dtype == np.float64, (img.shape, img.dtype)
    assert img.min() >= 0 and img.max() <= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000))
def test_random_bytes_are_an_image_or_a_one_line_error(tmp_path_factory, data):
    from PIL import Image

    path = tmp_path_factory.mktemp("img") / "x.png"
    path.write_bytes(data)
    try:
        img = load_image(path)
    except StimulusError as err:
        assert_image_refused(err, path)
    else:
        with Image.open(path) as im:
            assert_grey(img, im.size[::-1])


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
    assert_grey(load_image(path), (h, w))
    cut = rng.integers(1, len(data))
    path.write_bytes(data[:cut])
    try:
        img = load_image(path)
    except StimulusError as err:
        assert_image_refused(err, path)
    else:
        assert_grey(img, (h, w))


def test_a_broken_image_is_refused_in_one_line_by_the_command(tmp_path):
    """A truncated PNG as a stimulus pattern: `spiking preview` refuses it in one line naming the file."""
    path = tmp_path / "cut.png"
    path.write_bytes(_png(np.zeros((30, 30, 3), dtype=np.uint8))[:60])
    with pytest.raises(StimulusError) as error:
        load_image(path)
    result = spiking("preview", "--preset", "small", "--set", f"stimulus.patterns=['{path}']", "--out", str(tmp_path))
    assert result[0] == 2 and result[2] == f"spiking: error: {error.value}\n", result
    assert_image_refused(error.value, path)


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
