"""The one perceptual objective (painterly.objective): terms sum as the hand-built losses did, masks
restrict a term, and Gatys takes a caller's start image and extra terms."""

import pytest
import torch

from painterly import images
from painterly.features import Encoder
from painterly.losses import content_loss, gram_matrix, style_loss, tv_loss
from painterly.methods.gatys import stylize as gatys
from painterly.objective import ContentTerm, GramTerm, ImageTerm, Objective, tv_term

LAYERS = ("relu1_1", "relu2_1")


@pytest.fixture(scope="module")
def encoder():
    return Encoder("vgg19-caffe-q8", LAYERS)


def test_total_is_the_weighted_sum_of_the_terms_and_matches_the_hand_built_loss(encoder, content, style):
    x, s = content[..., :32, :32], images.resize_long_side(style, 32)
    fx, fs = encoder(x), encoder(s)
    y = torch.rand_like(x)
    grams = {n: gram_matrix(fs[n]) for n in LAYERS}
    obj = Objective(encoder, [ContentTerm({"relu2_1": 1.0}, {"relu2_1": fx["relu2_1"]}, 2.0),
                              GramTerm({"relu1_1": 1.0, "relu2_1": 0.5}, grams, 1e-4), tv_term(3.0)])
    total, parts = obj(y)
    fy = encoder(y)
    c = content_loss(fy["relu2_1"], fx["relu2_1"])
    st = style_loss(fy["relu1_1"], grams["relu1_1"]) + 0.5 * style_loss(fy["relu2_1"], grams["relu2_1"])
    assert torch.equal(parts["content"], c) and torch.allclose(parts["style"], st, rtol=1e-6)
    assert torch.equal(parts["tv"], tv_loss(y))
    assert torch.allclose(total, 2.0 * c + 1e-4 * st + 3.0 * tv_loss(y), rtol=1e-6)
    assert obj.layers == ("relu2_1", "relu1_1")          # one encoder pass for the layers the terms read


def test_content_target_per_batch_and_a_missing_target_is_a_clear_error(encoder, content):
    x = content[..., :32, :32]
    obj = Objective(encoder, [ContentTerm({"relu1_1": 1.0})])
    with pytest.raises(ValueError, match="with_content"):
        obj(x)
    _, parts = obj.with_content(obj.encode(x))(x)
    assert float(parts["content"]) == 0.0                 # the batch is its own target


def test_a_mask_restricts_a_term_to_its_region(encoder, content):
    x = content[..., :32, :32]
    y = x.clone()
    y[..., :, 16:] = torch.rand_like(y[..., :, 16:])       # only the right half differs
    left = torch.zeros(1, 1, 32, 32)
    left[..., :, :10] = 1
    target = encoder(x)
    whole = Objective(encoder, [ContentTerm({"relu1_1": 1.0}, target)])(y)[0]
    masked = Objective(encoder, [ContentTerm({"relu1_1": 1.0}, target, mask=left)])(y)[0]
    assert float(masked) < 1e-3 * float(whole)


def test_an_unknown_layer_is_refused(encoder):
    with pytest.raises(ValueError, match="relu5_1"):
        Objective(encoder, [ContentTerm({"relu5_1": 1.0})])


def test_gatys_adds_a_callers_term_and_starts_from_a_callers_image(content, style):
    """What video needs: an extra term (here: stay near a grey image) lowers its own loss and is in the
    history under its name; `init` replaces the start image."""
    c = content[..., :48, :48]
    grey = torch.full_like(c, 0.5)
    pull = ImageTerm("grey", lambda img: (img - grey).pow(2).mean(), weight=1e11)
    o = gatys.GatysOptions(steps=8, precision="float32")
    plain = gatys.run(c, [style], o)
    pulled = gatys.run(c, [style], o, terms=[pull])
    assert "grey" in pulled.history[-1] and "grey" not in plain.history[-1]
    assert (pulled.image - grey).pow(2).mean() < 0.5 * (plain.image - grey).pow(2).mean()
    sized = gatys.run(content[..., :64, :64], [style], gatys.GatysOptions(steps=2, scales=2, precision="float32"),
                      terms=lambda size: [ImageTerm("size", lambda img: img.new_tensor(float(size[0])), 0.0)])
    assert [r["size"] for r in sized.history] == [float(r["height"]) for r in sized.history]
    one = gatys.GatysOptions(steps=1, precision="float32", optimizer="adam", lr=1e-9)
    started = gatys.run(c, [style], one, init=grey)
    assert (started.image - grey).abs().max() < 1e-3
