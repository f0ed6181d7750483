"""First-spike vision: the rank-order network of Delorme & Thorpe (2001) checked rule by rule, against a plain: the slow part (``make test-slow``); the rest is in ``tests/test_first_spike.py``."""

from __future__ import annotations

import math

import pytest

from test_first_spike import DATA


@pytest.mark.skipif(
    not (DATA / "orl_faces" / "s1-1.pgm").is_file() or not (DATA / "spikenet_40faces" / "learn_lst_img").is_file(),
    reason="needs ../shared/data/orl_faces and ../shared/data/spikenet_40faces (not part of the project)",
)
def test_the_40_faces_learnt_and_identified(tmp_path):
    """The protocol's first half on the real data: learn views 3-10, identify views 1-2 and 3-10 at full contrast.

    Measured when written: 97.8% of the learnt views, 90.0% of the unseen views (``docs/first-spike.md``);
    required here: at least 95% and 80% (the thresholds are chosen within the learnt views).
    """
    from spiking.firstspike.faces import FacesOptions, learn_faces

    options = FacesOptions(
        faces=str(DATA / "orl_faces"),
        spikenet=str(DATA / "spikenet_40faces"),
        output_dir=str(tmp_path),
        contrasts=(1.0,),
        noises=(),
        workers=2,
    )
    folder, m = learn_faces(options)
    assert m["status"] == "complete"
    assert m["results"]["learnt_views_full_contrast"] >= 0.95
    assert m["results"]["unseen_views_full_contrast"] >= 0.80
    for name in ("results.csv", "accuracy.png", "weights.png", "decision.png", "examples.png", "weights.npz"):
        assert (folder / name).is_file(), name
    assert math.isclose(sum(1 for _ in open(folder / "results.csv")) - 1, 2)
    assert 0 < m["thresholds"]["held_out_correct"] <= 320


@pytest.mark.skipif(
    not (DATA / "caltech_face_motorbike" / "Face").is_dir(),
    reason="needs ../shared/data/caltech_face_motorbike (not part of the project)",
)
def test_caltech_faces_and_motorbikes_learnt_with_rstdp(tmp_path):
    """60 epochs of the authors' protocol (200 in a full run): at least 85% of the held-out images (92% when
    written; 96% after 200 epochs, ``docs/first-spike.md``)."""
    from spiking.firstspike.categories import CategoriesOptions, learn_categories

    options = CategoriesOptions(
        dataset="caltech", data=str(DATA / "caltech_face_motorbike"), output_dir=str(tmp_path), epochs=60, plain=False
    )
    folder, m = learn_categories(options)
    assert m["status"] == "complete" and m["data"]["train"] == 100 and m["data"]["test"] == 100
    assert m["results"]["rstdp_tested"] >= 0.85 and m["results"]["rstdp_learnt"] >= 0.95
    for name in ("results.csv", "epochs.csv", "accuracy.png", "maps.png", "weights.npz"):
        assert (folder / name).is_file(), name
