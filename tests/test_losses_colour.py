"""Losses and colour transforms as pure functions."""

import torch

from painterly import colour
from painterly.losses import content_loss, gram_matrix, style_loss, tv_loss


def test_gram_is_size_independent_and_zero_loss_on_itself():
    f = torch.rand(1, 8, 10, 10)
    tiled = f.repeat(1, 1, 2, 2)                   # same statistics, 4x the positions
    assert torch.allclose(gram_matrix(f), gram_matrix(tiled), atol=1e-5)
    assert float(style_loss(f, gram_matrix(f))) == 0.0
    assert float(content_loss(f, f)) == 0.0 and float(content_loss(f, f + 1)) == 0.5


def test_masked_gram_ignores_the_masked_out_region():
    f = torch.rand(1, 4, 8, 8)
    g = f.clone()
    g[..., :, 4:] = 100.0                          # wildly different right half
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :, :4] = 1
    assert torch.allclose(gram_matrix(f, mask), gram_matrix(g, mask))
    assert not torch.allclose(gram_matrix(f), gram_matrix(g))


def test_tv_is_zero_on_flat_images_and_grows_with_noise():
    assert float(tv_loss(torch.full((1, 3, 8, 8), 0.3))) == 0.0
    assert float(tv_loss(torch.rand(1, 3, 8, 8))) > 0.05


def test_luminance_transfer_keeps_content_chroma_and_stylised_luminance():
    g = torch.Generator().manual_seed(0)
    # in-gamut inputs: moderate luminance, muted content colours, so no clamping is needed
    content = 0.5 + 0.1 * (torch.rand(1, 3, 16, 16, generator=g) - 0.5)
    stylised = 0.3 + 0.4 * torch.rand(1, 3, 16, 16, generator=g)
    out = colour.luminance_transfer(stylised, content)
    yiq_o, yiq_c, yiq_s = (colour.rgb_to_yiq(t) for t in (out, content, stylised))
    assert torch.allclose(yiq_o[:, 1:], yiq_c[:, 1:], atol=1e-4)
    assert torch.allclose(yiq_o[:, :1], yiq_s[:, :1], atol=1e-4)


def test_match_colours_copies_mean_and_covariance():
    g = torch.Generator().manual_seed(1)
    src = torch.rand(1, 3, 20, 20, generator=g) * torch.tensor([0.2, 0.5, 0.1]).view(1, 3, 1, 1)
    tgt = torch.rand(1, 3, 30, 10, generator=g) * 0.4 + torch.tensor([0.5, 0.1, 0.3]).view(1, 3, 1, 1)
    out = colour.match_colours(src, tgt)
    def stats(x):
        p = x[0].reshape(3, -1)
        return p.mean(1), torch.cov(p, correction=0)
    (m_o, c_o), (m_t, c_t) = stats(out), stats(tgt)
    assert torch.allclose(m_o, m_t, atol=2e-3) and torch.allclose(c_o, c_t, atol=2e-3)
