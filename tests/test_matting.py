"""The matting Laplacian (Levin et al.) and its two uses: Luan et al.'s regulariser, PhotoWCT's smoothing."""

import numpy as np
import pytest
import torch

pytest.importorskip("scipy")

from painterly import matting  # noqa: E402


def _brute_affinity(img: np.ndarray, eps: float = matting.EPS) -> np.ndarray:
    h, w, _ = img.shape
    out = np.zeros((h * w, h * w))
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            ids = [(y + a) * w + (x + b) for a in (-1, 0, 1) for b in (-1, 0, 1)]
            px = img.reshape(-1, 3)[ids]
            mu = px.mean(0)
            cov = (px - mu).T @ (px - mu) / 9
            inv = np.linalg.inv(cov + eps / 9 * np.eye(3))
            out[np.ix_(ids, ids)] += (1 + (px - mu) @ inv @ (px - mu).T) / 9
    return out


def test_affinity_equals_the_definition_and_the_laplacian_is_psd():
    img = np.random.default_rng(0).random((9, 11, 3))
    assert np.abs(matting.matting_affinity(img).toarray() - _brute_affinity(img)).max() < 1e-10
    lap = matting.matting_laplacian(img)
    assert abs(lap - lap.T).max() < 1e-12 and np.abs(lap.sum(axis=1)).max() < 1e-9
    assert np.linalg.eigvalsh(lap.toarray()).min() > -1e-9


def test_regulariser_is_zero_for_a_local_affine_recolouring_and_not_for_texture():
    rng = np.random.default_rng(1)
    photo = torch.from_numpy(rng.random((1, 3, 16, 20))).float()
    loss = matting.MattingLoss(photo, 1.0)
    a = torch.tensor([[0.5, 0.2, 0.0], [0.1, 0.7, 0.1], [0.0, 0.3, 0.4]])
    recoloured = (torch.einsum("ij,njhw->nihw", a, photo) + 0.1).requires_grad_(True)
    noisy = (photo + 0.2 * torch.from_numpy(rng.random((1, 3, 16, 20))).float()).requires_grad_(True)
    assert float(loss(recoloured).detach()) < 1e-4 * float(loss(noisy).detach())
    # the gradient is 2 L v / N (L symmetric): autograd through the sparse product agrees
    loss(noisy).backward()
    v = noisy.detach()[0].reshape(3, -1).T.double().numpy()
    expect = 2 * (loss.lap @ v) / (16 * 20)
    got = noisy.grad[0].reshape(3, -1).T.double().numpy()
    assert np.abs(got - expect).max() < 1e-4 * np.abs(expect).max()


def test_closed_form_smoothing_removes_what_is_not_in_the_photo():
    rng = np.random.default_rng(2)
    photo = np.zeros((24, 24, 3))
    photo[:, 12:] = 0.8                                       # two flat halves
    photo += 0.01 * rng.random(photo.shape)
    stylised = 0.5 * photo + 0.2 + 0.1 * rng.random(photo.shape)   # recoloured + speckle
    out = matting.smooth(photo, stylised, lam=1e-4)
    lap = matting.matting_laplacian(photo)

    def energy(x):
        v = x.reshape(-1, 3)
        return float((v * (lap @ v)).sum())
    assert energy(out) < 0.1 * energy(stylised)
    assert abs(out.mean() - stylised.mean()) < 0.02                       # the colours stay
    assert abs(out[:, :10].mean() - out[:, 14:].mean()) > 0.3              # the edge stays
