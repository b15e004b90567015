"""Loss-landscape slices: closed forms, filter normalisation, the projected path, the evaluator against the
load-weights loop, the trajectory the trainer keeps, and ``optviz landscape``."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from optviz.cli import main
from optviz.core.params import ParamError
from optviz.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from optviz.training.config import TrainConfig
from optviz.training.landscape import (Cancelled, SliceEvaluator, filter_normalised, run_landscape,
                                       slice_landscape, trainable)
from optviz.training.models import build_model
from optviz.training.results import off_heap
from optviz.training.trainer import Trainer
from optviz.training.trajectory import MAX_SNAPSHOTS, Trajectory, WeightPath


pytestmark = pytest.mark.usefixtures("training_thread_policy")


def _sse(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((out.squeeze(-1) - y) ** 2).sum()


def _quadratic(seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A linear model with squared error: its loss is an exact quadratic in its weights."""
    g = torch.Generator().manual_seed(seed)
    model = nn.Linear(5, 1, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 5, generator=g))
    return model, torch.randn(40, 5, generator=g), torch.randn(40, generator=g)


def _closed_form(x: torch.Tensor, y: torch.Tensor, w: np.ndarray, d1: np.ndarray, d2: np.ndarray,
                 alphas: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """mean((X (w + α d1 + β d2) − y)²) for every (β, α), in float64."""
    X, Y = x.double().numpy(), y.double().numpy()
    r0, r1, r2 = X @ w - Y, X @ d1, X @ d2
    res = r0[None, None] + alphas[None, :, None] * r1 + betas[:, None, None] * r2
    return (res ** 2).mean(-1)


def test_a_quadratic_slice_equals_its_closed_form() -> None:
    model, x, y = _quadratic()
    result = slice_landscape(model, x, y, criterion=_sse, resolution=7, range_=2.0, seed=3, device="cpu")
    w = model.weight.detach().double().numpy().ravel()
    expected = _closed_form(x, y, w, result.d1.astype(np.float64), result.d2.astype(np.float64), result.alphas,
                            result.betas)
    np.testing.assert_allclose(result.loss, expected, rtol=1e-5)
    np.testing.assert_allclose(result.alphas, np.linspace(-2, 2, 7))
    assert result.loss.shape == (7, 7) and result.path.shape == (0, 2) and np.isnan(result.explained).all()
    # the one filter of a (1, 5) weight has the weight's norm
    assert np.linalg.norm(result.d1) == pytest.approx(np.linalg.norm(w), rel=1e-5)


def _fake_path(model: nn.Module, k: int = 6, seed: int = 1) -> WeightPath:
    """k snapshots ending at the model's weights, wandering in all directions."""
    g = torch.Generator().manual_seed(seed)
    final = torch.cat([p.detach().reshape(-1) for _, p in trainable(model)])
    walk = torch.cumsum(torch.randn(k, final.numel(), generator=g) * torch.linspace(2, 0.5, final.numel()), 0)
    weights = final + walk - walk[-1]
    names = tuple(n for n, _ in trainable(model))
    shapes = tuple(tuple(p.shape) for _, p in trainable(model))
    return WeightPath(tuple(range(0, 10 * k, 10)), weights.float(), names, shapes)


def test_pca_slice_path_and_explained_variance() -> None:
    model, x, y = _quadratic()
    path = _fake_path(model)
    result = slice_landscape(model, x, y, criterion=_sse, trajectory=path, directions="pca", resolution=5,
                             device="cpu")
    w = model.weight.detach().double().numpy().ravel()
    expected = _closed_form(x, y, w, result.d1.astype(np.float64), result.d2.astype(np.float64), result.alphas,
                            result.betas)
    np.testing.assert_allclose(result.loss, expected, rtol=1e-5)
    # explained variance = the ratio of numpy's PCA (centred SVD)
    rows = path.weights.double().numpy()
    s = np.linalg.svd(rows - rows.mean(0), compute_uv=False)
    np.testing.assert_allclose(result.explained, (s ** 2 / (s ** 2).sum())[:2], rtol=1e-6)
    # the path: first point = the initial weights' coordinates, last = the final weights' (0, 0)
    d = np.stack([result.d1, result.d2]).astype(np.float64)
    np.testing.assert_allclose(d @ d.T, np.eye(2), atol=1e-6)
    np.testing.assert_allclose(result.path[0], d @ (rows[0] - w), rtol=1e-6)
    np.testing.assert_allclose(result.path[-1], [0, 0], atol=1e-6)
    # the auto range covers the whole path
    assert np.abs(result.path).max() < result.alphas[-1] == pytest.approx(1.25 * np.abs(result.path).max())


def test_filter_normalisation_on_a_batchnorm_lenet() -> None:
    model = build_model(TrainConfig(model="lenet", batchnorm=True), 1, 10, 28)
    named = trainable(model)
    d = filter_normalised([p for _, p in named], torch.Generator().manual_seed(0))
    parts = torch.split(d, [p.numel() for _, p in named])
    checked = 0
    for (name, p), part in zip(named, parts):
        part = part.view(p.shape)
        if p.dim() <= 1:  # biases and BatchNorm's weight and bias
            assert not part.any(), name
            continue
        for i in range(p.shape[0]):
            assert float(part[i].norm()) == pytest.approx(float(p[i].norm()), rel=1e-5), f"{name}[{i}]"
            checked += 1
    assert checked == 6 + 16 + 120 + 84 + 10


@pytest.mark.parametrize("config", [TrainConfig(model="lenet", batchnorm=True), TrainConfig(model="mlp", width=2),
                                    TrainConfig(model="resnet8", width=2, batchnorm=True)],
                         ids=["lenet-bn", "mlp", "resnet8"])
def test_evaluator_equals_the_load_weights_loop(config: TrainConfig) -> None:
    """The shortcuts (first layer from three evaluations, strided max pooling, vmap chunks) change nothing."""
    torch.manual_seed(0)
    model = build_model(config, 1, 10, 28).eval()
    x, y = torch.randn(20, 1, 28, 28), torch.randint(0, 10, (20,))
    named = trainable(model)
    center = torch.cat([p.reshape(-1) for _, p in named])
    g = torch.Generator().manual_seed(1)
    d1, d2 = (filter_normalised([p for _, p in named], g) for _ in range(2))
    a, b = torch.tensor([0.0, 0.5, -0.3, 1.0, 0.1]), torch.tensor([0.0, 0.2, 0.7, -1.0, -0.4])
    expected = []
    reference = build_model(config, 1, 10, 28).eval()
    reference.load_state_dict(model.state_dict())
    with torch.no_grad():
        for ai, bi in zip(a, b):
            torch.nn.utils.vector_to_parameters(center + ai * d1 + bi * d2, reference.parameters())
            expected.append(float(F.cross_entropy(reference(x), y)))
    for chunk in (1, 3):
        evaluator = SliceEvaluator(model, x, y, chunk=chunk)
        assert evaluator.first is not None
        np.testing.assert_allclose(evaluator.losses(center, d1, d2, a, b), expected, rtol=2e-6, atol=1e-6)


def test_the_trajectory_stays_bounded_and_evenly_spaced() -> None:
    model = nn.Linear(3, 2)
    t = Trajectory(model, limit=8)
    for step in range(0, 1000):
        with torch.no_grad():
            model.weight.fill_(step)
        t.offer(step, list(model.parameters()))
    path = t.result(999, list(model.parameters()))
    assert len(path.steps) <= 9 and path.steps[0] == 0 and path.steps[-1] == 999
    gaps = np.diff(path.steps[:-1])
    assert len(set(gaps.tolist())) == 1 and gaps[0] == t.stride
    np.testing.assert_array_equal(path.weights[:, 0].numpy(), np.array(path.steps, np.float32))
    big = Trajectory(nn.Linear(1000, 1000), limit=32, max_bytes=10 * 2**20)  # 4 MB a snapshot: 3 kept
    assert big.limit == 3


def _anon_mb() -> float:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("RssAnon")) / 1024


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_runs_tensors_are_a_deleted_mapped_file_not_the_apps_memory(tmp_path: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    weights = torch.randn(40, 500_000, generator=gen)  # 80 MB, as 33 snapshots of a 600k-parameter network
    path = WeightPath(tuple(range(0, 400, 10)), weights, ("w",), ((500_000,),))
    sums, first = weights.double().sum(1), weights[0, :1000].clone()
    state = {"w": torch.full((100, 100), 2.0), "bias": torch.ones(3), "step": torch.tensor(7.0)}
    held = _anon_mb()
    kept, kept_state = off_heap((path, state), tmp_path)
    del path, weights
    assert _anon_mb() < held - 60  # the matrix left the process's own memory
    assert list(tmp_path.iterdir()) == []  # and nothing is left on disk
    torch.testing.assert_close(kept.weights.double().sum(1), sums, rtol=0, atol=0)
    assert torch.equal(kept.weights[0, :1000], first) and kept.steps[-1] == 390
    assert torch.equal(kept_state["w"], torch.full((100, 100), 2.0)) and kept_state["step"].item() == 7.0
    assert kept_state["bias"] is state["bias"]  # small tensors stay where they are
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    small = WeightPath((0, 1), torch.ones(2, 1024), ("w",), ((1024,),))
    if os.geteuid() != 0:  # root writes anywhere: a read-only folder only means something to others
        assert off_heap(small, locked) is small
    (tmp_path / "plain").write_text("x")
    assert off_heap(small, tmp_path / "plain") is small  # a file where the folder should be: kept in memory


@pytest.fixture(scope="module")
def trained() -> object:
    config = TrainConfig(dataset="mnist5k", subset=200, epochs=1, model="lenet", batch_size=16, device="cpu")
    return Trainer(config).run()


def test_the_trainer_keeps_a_trajectory_and_the_path_ends_where_the_weights_are(trained, tmp_path: Path) -> None:
    run = trained.runs[0]
    path = run.trajectory
    assert path is not None and path.steps[0] == 0 and path.steps[-1] == run.step
    assert 3 <= len(path.steps) <= MAX_SNAPSHOTS + 1
    # weights, optimizer state and trajectory share one mapped file (results.off_heap)
    one = path.weights.untyped_storage().data_ptr()
    assert run.model_state["fc1.weight"].untyped_storage().data_ptr() == one
    assert run.optimizer_state["state"][4]["exp_avg"].untyped_storage().data_ptr() == one
    final = torch.cat([v.reshape(-1) for k, v in run.model_state.items() if "running" not in k])
    torch.testing.assert_close(path.weights[-1], final)
    result = run_landscape(trained.config, trained.data, run.model_state, path, probe=40, resolution=3,
                           directions="pca", device="cpu")
    rows, center = path.weights.double().numpy(), path.weights[-1].double().numpy()
    d = np.stack([result.d1, result.d2]).astype(np.float64)
    np.testing.assert_allclose(result.path[0], d @ (rows[0] - center), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(result.path[-1], [0, 0], atol=1e-6)
    # the line: t = 0 the initial weights, t = 1 the final ones (the grid's centre)
    assert result.line_t[10] == pytest.approx(0) and result.line_t[50] == pytest.approx(1)
    assert result.line_loss[50] == pytest.approx(result.loss[1, 1], rel=1e-5)
    assert result.line_loss[10] > result.line_loss[50]  # training lowered the loss
    # saved into the checkpoint and read back
    save_checkpoint(str(tmp_path / "c.pt"), trained.config, trained.runs, trained.data)
    back = load_checkpoint(str(tmp_path / "c.pt")).trajectory(0)
    assert back.steps == path.steps and torch.equal(back.weights, path.weights)


def test_progress_cancel_and_refusals(trained) -> None:
    run = trained.runs[0]
    seen: list[tuple[int, int]] = []
    run_landscape(trained.config, trained.data, run.model_state, run.trajectory, probe=20, resolution=3,
                  device="cpu", progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (9 + 61, 9 + 61)
    with pytest.raises(Cancelled):
        run_landscape(trained.config, trained.data, run.model_state, None, probe=20, resolution=3, device="cpu",
                      cancel=lambda: True)
    with pytest.raises(ParamError, match="PCA directions need"):
        run_landscape(trained.config, trained.data, run.model_state, None, probe=20, directions="pca",
                      device="cpu")
    with pytest.raises(ParamError, match="Invalid resolution"):
        run_landscape(trained.config, trained.data, run.model_state, None, probe=20, resolution=1, device="cpu")


def test_checkpoints_from_another_model_or_damaged_are_refused(trained, tmp_path: Path) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(str(path), trained.config, trained.runs, trained.data)
    data = torch.load(path, weights_only=True)
    data["config"]["model"] = "mlp"  # weights of a LeNet under an MLP's name
    torch.save(data, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="weights do not fit model mlp"):
        load_checkpoint(str(tmp_path / "other.pt"))
    data = torch.load(path, weights_only=True)
    data["runs"][0]["trajectory"]["weights"] = data["runs"][0]["trajectory"]["weights"][:, :100]
    torch.save(data, tmp_path / "short.pt")
    with pytest.raises(CheckpointError, match="trajectory"):
        load_checkpoint(str(tmp_path / "short.pt"))
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="not an optviz checkpoint"):
        load_checkpoint(str(tmp_path / "cut.pt"))
    data = torch.load(path, weights_only=True)
    del data["runs"][0]["trajectory"]  # files from before trajectories load, without one
    torch.save(data, tmp_path / "old.pt")
    assert load_checkpoint(str(tmp_path / "old.pt")).trajectory(0) is None


def test_cli_npz_png_and_errors(trained, tmp_path: Path, capsys) -> None:
    ck = tmp_path / "c.pt"
    save_checkpoint(str(ck), trained.config, trained.runs, trained.data)
    out = tmp_path / "s.npz"
    assert main(["landscape", "--checkpoint", str(ck), "--resolution", "3", "--probe", "30", "--directions", "pca",
                 "--out", str(out)]) == 0
    with np.load(out) as npz:
        assert npz["loss"].shape == (3, 3) and npz["alphas"].shape == npz["betas"].shape == (3,)
        assert npz["path"].shape == (len(trained.runs[0].trajectory.steps), 2) and npz["explained"].shape == (2,)
        assert str(npz["directions"]) == "pca" and 0 < float(npz["explained"].sum()) <= 1
    assert main(["landscape", "--checkpoint", str(ck), "--resolution", "4", "--probe", "10", "--range", "0.5",
                 "--seed", "2", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    capsys.readouterr()
    for args, words in ((["--resolution", "1"], "Invalid resolution: 1 (allowed: an integer in [2, 201])"),
                        (["--run", "3"], "Invalid run: 3 (allowed: 0 to 0"),
                        (["--directions", "up"], "Invalid directions: 'up' (allowed: random, pca)")):
        assert main(["landscape", "--checkpoint", str(ck), *args, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["landscape", "--checkpoint", str(bad), "--out", str(out)]) == 2
    assert "bad.pt: not an optviz checkpoint" in capsys.readouterr().err
    dataclasses.replace(trained.config)  # the fixture is left as it was


def test_the_png_marks_the_path_start_and_end_where_the_path_is() -> None:
    from optviz.commands.landscape import picture

    model, x, y = _quadratic()
    result = slice_landscape(model, x, y, criterion=_sse, trajectory=_fake_path(model), directions="pca",
                             resolution=8, device="cpu")
    img = picture(result)
    side = img.shape[0]
    assert img.shape == (side, side, 3) and side >= 384

    def at(px: float, py: float) -> tuple[int, ...]:
        a0, a1, b0, b1 = result.alphas[0], result.alphas[-1], result.betas[0], result.betas[-1]
        j = round((px - a0) / (a1 - a0) * (side - 1))
        i = side - 1 - round((py - b0) / (b1 - b0) * (side - 1))  # y grows upwards
        return tuple(int(v) for v in img[i, j])

    assert at(*result.path[0]) == (40, 200, 60)  # start: green
    assert at(*result.path[-1]) == (230, 40, 40)  # end (the final weights): red
    middle = result.path[len(result.path) // 2]
    assert at(*middle) == (255, 255, 255)  # the path: white
