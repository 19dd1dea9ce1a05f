import numpy as np
import pytest

from mantissa.errors import ConfigError
from mantissa.tasks import geometry as geo


def test_inside_triangle_hand_cases():
    tri = ((0.0, 0.0), (10.0, 0.0), (0.0, 10.0))
    assert geo.inside_triangle((2.0, 2.0), tri)
    assert not geo.inside_triangle((6.0, 6.0), tri)
    assert geo.inside_triangle((2.0, 2.0), tri[::-1])  # orientation does not matter


def test_render_inks_a_horizontal_segment_and_a_point():
    d = geo.Diagram(16, lines=[(2.0, 5.0, 10.0, 5.0)], points=[(12.0, 12.0)])
    img = geo.render(d)
    assert img[5, 2:11].all() and img.sum() == 9 + 9
    assert img[11:14, 11:14].all()


def test_grounding_targets_per_patch():
    d = geo.Diagram(16, circles=[(8.0, 8.0, 5.0)])
    t = geo.grounding_targets(d, patch=4)
    assert t.shape == (len(geo.GROUNDING_CHANNELS), 4, 4)
    ch = dict(zip(geo.GROUNDING_CHANNELS, t))
    assert ch["circle"].sum() > 0 and ch["line"].sum() == 0 and ch["point"].sum() == 0
    # patch centres at 1.5, 5.5, 9.5, 13.5: inside the circle iff (x-8)^2 + (y-8)^2 < 25
    c = np.array([1.5, 5.5, 9.5, 13.5])
    want = ((c[None, :] - 8) ** 2 + (c[:, None] - 8) ** 2 < 25).astype(np.float32)
    assert np.array_equal(ch["in_circle"], want)
    with pytest.raises(ConfigError):
        geo.grounding_targets(d, patch=5)


def test_captions_are_distinct_and_tokenised():
    caps = geo.all_captions()
    assert len(caps) == len({i for i, _ in caps}) == len({c for _, c in caps}) == 96
    d = geo.Diagram(circles=[(5, 5, 3)] * 2, points=[(1, 1)])
    assert geo.caption(d) == "two circles no lines no triangles one point"
    assert len(geo.caption_tokens(geo.caption(d))) == geo.CAPTION_LEN


def test_question_answers_follow_the_drawn_primitives():
    rng = np.random.default_rng(0)
    for _ in range(60):
        d, a = geo.question_diagram(rng, 0)
        assert a == len(d.circles)
        d, a = geo.question_diagram(rng, 1)
        assert geo.ANSWERS[a] == ("yes" if geo.inside_triangle(d.points[0], d.triangles[0]) else "no")
        d, a = geo.question_diagram(rng, 2)
        (x1, y1, x2, y2), (u1, v1, u2, v2) = d.lines
        cross = abs((x2 - x1) * (v2 - v1) - (y2 - y1) * (u2 - u1))
        parallel = cross < 1e-6 * np.hypot(x2 - x1, y2 - y1) * np.hypot(u2 - u1, v2 - v1)
        assert geo.ANSWERS[a] == ("yes" if parallel else "no")
    qs = geo.question_set(30, seed=1)
    assert qs["images"].shape == (30, 32, 32) and set(qs["questions"]) == {0, 1, 2}
