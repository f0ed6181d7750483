"""Pure numpy parts: derived sizes, grid geometry, pattern placement, schedule, Gabor filter, rates."""

import math

import numpy as np
import pytest

from spiking.config import DogConfig, GaborConfig, NetworkConfig, RetinaConfig, from_mapping
from spiking.errors import StimulusError
from spiking.model.geometry import derive_sizes, grid_positions, image_to_nodes, nodes_to_image
from spiking.model.protocols import grating
from spiking.model.retina import dog_filter, dog_kernel, filter_image, gabor_kernel, retina_rates, retina_responses
from spiking.model.stimulus import build_schedule, builtin_pattern, load_image, load_pattern, place_pattern


def test_default_sizes():
    s = derive_sizes(NetworkConfig())
    assert (s.excitatory_side, s.inhibitory_side, s.retina_side, s.pattern_side) == (147, 74, 165, 55)
    assert s.total_neurons == 27000 and s.extent == 3.0


@pytest.mark.parametrize(
    "hc, exposed, side, per", [(1, 1, 10, 30), (4, 2, 10, 30), (16, 1, 10, 30), (4, 1, 5, 12), (25, 9, 10, 30)]
)
def test_sizes_follow_the_formulas(hc, exposed, side, per):
    net = NetworkConfig(hypercolumns=hc, exposed_hypercolumns=exposed, minicolumn_side=side, neurons_per_minicolumn=per)
    s = derive_sizes(net)
    n = hc * side**2 * per
    assert s.total_neurons == n
    assert s.extent == round(math.sqrt(hc), 2)
    # ceil(sqrt(x)) checked as the smallest integer whose square reaches x
    for got, x in (
        (s.excitatory_side, n * 0.8),
        (s.inhibitory_side, n * 0.2),
        (s.retina_side, n),
        (s.pattern_side, exposed * side**2 * per),
    ):
        assert got**2 >= x - 1e-9 and (got - 1) ** 2 < x - 1e-9


def test_grid_positions_follow_nest_node_order():
    # node k: column k // rows, row k % rows, row 0 at the top
    pos = grid_positions(3, 3.0)
    assert np.allclose(pos[0], [-1.0, 1.0])  # top-left
    assert np.allclose(pos[1], [-1.0, 0.0])  # next row down, same column
    assert np.allclose(pos[3], [0.0, 1.0])  # next column
    img = np.arange(9).reshape(3, 3)  # img[row, col]
    nodes = image_to_nodes(img)
    assert nodes[1] == img[1, 0] and nodes[3] == img[0, 1]
    assert np.array_equal(nodes_to_image(nodes, 3), img)


def test_builtin_patterns_are_the_original_data():
    p0, p1 = builtin_pattern("pattern0"), builtin_pattern("pattern1")
    assert p0.shape == p1.shape == (20, 20)
    assert p0.sum() == 4 * 16 and p1.sum() == 5 * 16  # the '+' ring of four 4x4 squares, the 'x' of five
    assert p0[4, 8] == 1 and p0[4, 4] == 0 and p1[4, 4] == 1 and p1[4, 8] == 0
    with pytest.raises(StimulusError, match="unknown pattern 'pattern9'; built-in patterns: pattern0, pattern1"):
        builtin_pattern("pattern9")


def test_pattern_placement_of_the_default_model():
    p = builtin_pattern("pattern0")
    placed = place_pattern(p, 55, 165)
    assert placed.shape == (165, 165)
    # factor ceil(55/20)=3, padding ceil((165-55)/2)=55: pixel (r, c) of the pattern covers
    # rows 55+3r .. 55+3r+2 of the retina
    for r, c in [(4, 8), (8, 4), (15, 11)]:
        assert p[r, c] == 1
        assert np.all(placed[55 + 3 * r : 55 + 3 * r + 3, 55 + 3 * c : 55 + 3 * c + 3] == 1)
    assert placed.sum() == p.sum() * 9
    assert placed[:55].sum() == 0 and placed[:, :55].sum() == 0


def test_placement_when_the_pattern_fills_the_field():
    placed = place_pattern(builtin_pattern("pattern1"), 32, 32)
    # factor 2, no padding: the 40x40 enlargement trimmed to its top-left 32x32
    assert placed.shape == (32, 32)
    assert np.array_equal(placed, np.kron(builtin_pattern("pattern1"), np.ones((2, 2)))[:32, :32])


def test_large_and_non_square_images_are_fitted(tmp_path):
    from PIL import Image

    a = np.zeros((120, 60), dtype=np.uint8)
    a[:60, :] = 255  # top half white
    Image.fromarray(a).save(tmp_path / "tall.png")
    img = load_image(tmp_path / "tall.png")
    assert img.shape == (120, 60) and img.max() == 1.0
    placed = place_pattern(img, 30, 40)
    assert placed.shape == (40, 40)
    rows = np.nonzero(placed.sum(axis=1))[0]
    cols = np.nonzero(placed.sum(axis=0))[0]
    assert rows.min() < 20 and rows.max() < 20  # the white half stays on top
    assert cols.min() > 5 and cols.max() < 35  # padded on both sides


def test_image_modes_load_as_grey_levels(tmp_path):
    from PIL import Image

    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    rgb[0, 0] = (255, 255, 255)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    g16 = np.full((3, 3), 65535, dtype=np.uint16)
    g16[1, 1] = 0
    Image.fromarray(g16).save(tmp_path / "g16.png")
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 255, 255, 255)
    rgba[0, 1] = (255, 255, 255, 0)  # transparent white counts as black
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    a = load_image(tmp_path / "rgb.png")
    assert a[0, 0] == pytest.approx(1.0) and a[1, 1] == 0
    b = load_image(tmp_path / "g16.png")
    assert b[0, 0] == pytest.approx(1.0) and b[1, 1] == 0
    c = load_image(tmp_path / "rgba.png")
    assert c[0, 0] == pytest.approx(1.0) and c[0, 1] == 0
    for f in ("rgb.png", "g16.png", "rgba.png"):
        x = load_image(tmp_path / f)
        assert x.min() >= 0 and x.max() <= 1


def test_bad_images_fail_in_one_line(tmp_path):
    (tmp_path / "text.png").write_text("not an image")
    good = tmp_path / "good.png"
    from PIL import Image

    Image.fromarray(np.zeros((50, 50), dtype=np.uint8)).save(good)
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[:60])
    for name, words in (
        ("missing.png", "image not found"),
        ("text.png", "not a readable PNG or JPEG"),
        ("cut.png", "cannot be read"),
    ):
        with pytest.raises(StimulusError, match=words) as info:
            load_image(tmp_path / name)
        assert "\n" not in str(info.value)
    with pytest.raises(StimulusError, match="not a built-in pattern"):
        load_pattern("picture.bmp")


def test_paths_resolve_relative_to_the_config(tmp_path):
    (tmp_path / "p.txt").write_text("01\n10\n")
    cfg = from_mapping({}, base_dir=tmp_path)
    assert np.array_equal(load_pattern("p.txt", cfg), [[0, 1], [1, 0]])


def test_schedule_flips_and_explicit_epochs():
    cfg = from_mapping({"run": {"simulation_time": 1000.0}})
    sched = build_schedule(cfg)
    assert [(e.start, e.stop, e.pattern) for e in sched] == [
        (0, 250, "pattern0"),
        (250, 500, "pattern1"),
        (500, 750, "pattern0"),
        (750, 1000, "pattern1"),
    ]
    cfg = from_mapping(
        {
            "run": {"simulation_time": 100.0},
            "stimulus": {
                "epochs": [{"pattern": "pattern1", "duration": 30.0}, {"pattern": "pattern0", "duration": 20.0}]
            },
        }
    )
    sched = build_schedule(cfg)
    assert [(e.start, e.stop, e.pattern) for e in sched] == [
        (0, 30, "pattern1"),
        (30, 50, "pattern0"),
        (50, 80, "pattern1"),
        (80, 100, "pattern0"),
    ]
    cfg = from_mapping({"run": {"simulation_time": 90.0}, "stimulus": {"switch_every": 40.0}})
    assert [(e.start, e.stop) for e in build_schedule(cfg)] == [(0, 40), (40, 80), (80, 90)]


def test_gabor_kernel_matches_opencv():
    cv2 = pytest.importorskip("cv2")
    for ksize, sigma, theta, lambd, gamma, psi in [
        (10, 5, 0, 3, 2, 0),
        (7, 2.0, 0.7, 4.0, 0.5, 1.0),
        (11, 3, 1.2, 5, 1, 0.3),
        (4, 1.5, 2.0, 2.5, 1.3, -0.4),
    ]:
        ours = gabor_kernel(ksize, sigma, theta, lambd, gamma, psi)
        ref = cv2.getGaborKernel((ksize, ksize), sigma, theta, lambd, gamma, psi, ktype=cv2.CV_64F)
        np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_gabor_kernel_known_case():
    # theta = 0, psi = 0: centre is 1; along x the cosine has period lambda
    k = gabor_kernel(10, 5.0, 0.0, 4.0, 1.0, 0.0)
    assert k.shape == (11, 11) and k[5, 5] == pytest.approx(1.0)
    assert k[5, 5 + 2] == pytest.approx(-np.exp(-4 / 50))  # x = 2: half a period
    assert k[5 + 2, 5] == pytest.approx(np.exp(-4 / 50))  # y = 2: only the envelope


def test_filter_and_rate_mapping():
    img = np.zeros((40, 40))
    img[15:25, 18:22] = 1.0
    g = GaborConfig()
    on = filter_image(img, g)
    off = filter_image(img, g, off=True)
    assert on.min() >= 0 and on.max() <= 1 and off.max() <= 1
    # the response lies within the kernel's reach (half-size 5 pixels, twice for
    # the kernel and its transpose) of the bar, and is strong there
    rows, cols = np.nonzero(on)
    assert rows.min() >= 15 - 5 and rows.max() <= 24 + 5 and cols.min() >= 18 - 5 and cols.max() <= 21 + 5
    assert on.max() == 1.0 and on[:8].sum() == 0 and off[:8].sum() == 0
    r = RetinaConfig(min_rate=5.0, max_rate=100.0)
    ron, roff = retina_rates(img, r)
    np.testing.assert_allclose(ron, 5.0 + 95.0 * on)
    np.testing.assert_allclose(roff, 5.0 + 95.0 * off)
    # the OFF kernel is the negated ON kernel: responses never coincide above 0
    assert np.all((on == 0) | (off == 0))


def test_the_centre_surround_kernel_is_balanced_and_round():
    k = dog_kernel(DogConfig())
    assert k.shape == (19, 19) and abs(k.sum()) < 1e-12  # surround_weight 1: a uniform field gives nothing
    assert k[9, 9] == k.max() > 0 and k[9, 0] < 0  # ON centre, OFF surround
    np.testing.assert_allclose(k, k.T, atol=1e-15)
    np.testing.assert_allclose(k, k[::-1, :], atol=1e-15)
    assert dog_kernel(DogConfig(surround_weight=0.5)).sum() == pytest.approx(0.5)
    flat = np.full((40, 40), 0.7)
    assert dog_filter(flat, DogConfig()).max() < 1e-12 and dog_filter(flat, DogConfig(), off=True).max() < 1e-12


def test_a_centre_surround_retina_has_no_preferred_orientation_and_the_gabor_retina_has():
    """Mean ON+OFF response to full-field gratings at 8 orientations, relative spread (max - min) / mean.

    DoG: below 3% at every wavelength (what is left is the square grid's sampling of a round
    kernel: 1.8% at 4 pixels, 0.5% at 14). Gabor (wavelength 3 pixels, plus its transpose): at a
    wavelength of 4 pixels it prefers 0 and 90 deg (spread about 3); at 14 pixels, far from its
    own, it hardly tells orientations apart (about 0.07).
    """
    side = 165
    for wavelength, gabor_bounds in ((4.0, (1.0, np.inf)), (14.0, (0.0, 0.15))):
        spread = {}
        for name, retina in (("dog", RetinaConfig(filter="dog")), ("gabor", RetinaConfig())):
            energy = []
            for deg in np.arange(0, 180, 22.5):
                img = grating(side, deg, side / wavelength, phase_deg=17.0)
                on, off = retina_responses(img, retina)
                energy.append((on + off)[20:-20, 20:-20].mean())  # away from the mirrored border
            energy = np.array(energy)
            spread[name] = (energy.max() - energy.min()) / energy.mean()
            if name == "gabor" and wavelength == 4.0:
                assert energy.argmax() in (0, 4), energy  # 0 or 90 deg
        assert spread["dog"] < 0.03, (wavelength, spread)
        assert gabor_bounds[0] < spread["gabor"] < gabor_bounds[1], (wavelength, spread)


def test_centre_surround_on_and_off_cells_split_the_sign_and_scale_with_the_gain():
    img = np.zeros((41, 41))
    img[:, 21:] = 1.0  # a vertical edge: ON cells fire on the bright side, OFF cells on the dark side
    d = DogConfig()
    on, off = dog_filter(img, d), dog_filter(img, d, off=True)
    assert np.all((on == 0) | (off == 0)) and on.max() > 0.5 and off.max() > 0.5
    assert on[20, 22] > 0 and off[20, 19] > 0 and on[20, 19] == 0 and off[20, 22] == 0
    half = dog_filter(img, DogConfig(gain=2.0))
    small = on < 1.0
    np.testing.assert_allclose(half[small], on[small] / 2, atol=1e-12)
