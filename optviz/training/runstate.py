"""One run of the trainer: its model, optimizer and schedule, one training step, evaluation and pictures.

The trainer owns one :class:`RunState` per optimizer of a race; everything here turns tensors into plain numbers
and numpy arrays before they leave, so events never hold live tensors.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from optviz.core.optimizers import OptimizerChoice
from optviz.training.config import TrainConfig
from optviz.training.data import Loader
from optviz.training.events import BatchEvent, Pictures
from optviz.training.models import first_conv, layers
from optviz.training.optimization import build_optimizer, build_scheduler, decoupled_decay, l1_penalty


class RunState:
    """A model training under one optimizer; ``status`` is "running", "finished", "stopped" or "diverged"."""

    def __init__(self, index: int, choice: OptimizerChoice, label: str, model: nn.Module, config: TrainConfig,
                 n_batches: int) -> None:
        self.index, self.choice, self.label, self.model, self.config = index, choice, label, model, config
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = build_optimizer(choice, self.params, config)
        self.scheduler = build_scheduler(self.optimizer, config, n_batches)
        self.status, self.step, self.message = "running", 0, ""
        self.layer_names, self._grad_params, self._grad_layer = self._layer_params(model)
        # the last weights whose loss was finite, restored when a loss is not
        self._state = [t for t in model.state_dict().values()]
        self._backup = [t.detach().clone() for t in self._state]
        self.device = next(model.parameters()).device
        self.rng_state = self.get_rng()  # each run of a race draws its own dropout masks from the same seed
        self.epoch_loss_sum, self.epoch_batches, self.epoch_correct, self.epoch_seen = 0.0, 0, 0, 0

    @staticmethod
    def _layer_params(model: nn.Module) -> tuple[tuple[str, ...], list[nn.Parameter], np.ndarray]:
        names, params, owner = [], [], []
        for i, (name, module) in enumerate(layers(model)):
            names.append(name)
            for p in module.parameters(recurse=False):
                params.append(p)
                owner.append(i)
        return tuple(names), params, np.array(owner, dtype=np.int64)

    def get_rng(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        cuda = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        return torch.get_rng_state(), cuda

    def set_rng(self, state: tuple[torch.Tensor, torch.Tensor | None]) -> None:
        torch.set_rng_state(state[0])
        if state[1] is not None:
            torch.cuda.set_rng_state(state[1], self.device)

    @property
    def running(self) -> bool:
        return self.status == "running"

    def begin_epoch(self) -> None:
        self.model.train()  # once per epoch, not per step: evaluation only happens between epochs
        self.epoch_loss_sum, self.epoch_batches, self.epoch_correct, self.epoch_seen = 0.0, 0, 0, 0

    def _param_norms(self) -> list[torch.Tensor]:
        """The L2 norm of each conv/linear parameter's gradient (0-d tensors; combined per layer on the host)."""
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self._grad_params]
        return list(torch._foreach_norm(grads))

    def _layer_norms(self, param_norms: list[float]) -> np.ndarray:
        squares = np.square(np.asarray(param_norms, np.float64))
        return np.sqrt(np.bincount(self._grad_layer, weights=squares, minlength=len(self.layer_names)))

    def train_step(self, x: torch.Tensor, y: torch.Tensor, epoch: int, batch: int,
                   data_seconds: float) -> BatchEvent | None:
        """One optimisation step on (x, y); None when the loss is not finite (the run is then "diverged")."""
        t0 = time.perf_counter()
        self.step += 1
        self.optimizer.zero_grad(set_to_none=True)
        out = self.model(x)
        loss = F.cross_entropy(out, y)
        if self.config.l1 > 0:
            loss = loss + self.config.l1 * l1_penalty(self.params)
        loss.backward()
        correct = (out.detach().argmax(1) == y).sum()
        # 1. one transfer for everything reported, so a GPU syncs once per step
        numbers = torch.stack([loss.detach(), correct.to(loss.dtype), *self._param_norms()]).tolist()
        loss_value, n_correct, norms = numbers[0], int(numbers[1]), self._layer_norms(numbers[2:])
        if not math.isfinite(loss_value):
            self.diverge(loss_value)
            return None
        # 2. these weights gave a finite loss: keep them in case the update breaks them
        torch._foreach_copy_(self._backup, self._state)
        if self.config.clip_grad:
            nn.utils.clip_grad_norm_(self.params, self.config.clip_grad)
        lr = float(self.optimizer.param_groups[0]["lr"])
        if self.config.decoupled and self.config.weight_decay > 0:
            decoupled_decay(self.optimizer, self.config.weight_decay)
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self.epoch_loss_sum += loss_value
        self.epoch_batches += 1
        self.epoch_correct += n_correct
        self.epoch_seen += len(y)
        seconds = time.perf_counter() - t0 + data_seconds
        return BatchEvent(self.index, self.step, epoch, batch, loss_value, lr, norms,
                          len(y) / seconds if seconds > 0 else math.nan, accuracy=n_correct / len(y))

    def diverge(self, loss_value: float) -> None:
        """Stop this run at the current step and put back the last weights that gave a finite loss."""
        with torch.no_grad():
            torch._foreach_copy_(self._state, self._backup)
        self.status = "diverged"
        self.message = (f"loss became {loss_value} at step {self.step}; kept the weights that gave the last finite "
                        f"loss (step {self.step - 1})" if self.step > 1 else f"loss became {loss_value} at step 1")

    def epoch_train_metrics(self) -> tuple[float, float]:
        if not self.epoch_batches:
            return math.nan, math.nan
        return self.epoch_loss_sum / self.epoch_batches, self.epoch_correct / self.epoch_seen

    @torch.no_grad()
    def evaluate(self, loader: Loader) -> tuple[float, float, np.ndarray, np.ndarray]:
        """Mean loss, accuracy, labels and predictions over ``loader`` (nan and empty when it has no samples)."""
        self.model.eval()
        total, correct, n, labels, preds = 0.0, 0, 0, [], []
        for x, y in loader:
            out = self.model(x)
            total += float(F.cross_entropy(out, y, reduction="sum"))
            pred = out.argmax(1)
            correct += int((pred == y).sum())
            n += len(y)
            labels.append(y.cpu().numpy())
            preds.append(pred.cpu().numpy())
        if n == 0:
            return math.nan, math.nan, np.zeros(0, np.int64), np.zeros(0, np.int64)
        return total / n, correct / n, np.concatenate(labels), np.concatenate(preds)

    @torch.no_grad()
    def pictures(self, epoch: int, images: torch.Tensor, normalised: torch.Tensor, labels: torch.Tensor) -> Pictures:
        """Predictions for a fixed grid of test images, the first conv layer's filters and a weights snapshot."""
        self.model.eval()
        preds = self.model(normalised).argmax(1) if len(labels) else labels
        conv = first_conv(self.model)
        filters = conv.weight.detach().float().cpu().numpy().copy() if conv is not None else None
        weights = {k: v.detach().cpu().numpy().copy() for k, v in self.model.state_dict().items()}
        return Pictures(self.index, epoch, images.float().cpu().numpy() / 255.0, labels.cpu().numpy().astype(np.int64),
                        preds.cpu().numpy().astype(np.int64), filters, weights=weights)


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (n_classes, n_classes) int64: rows = true class, columns = predicted."""
    flat = np.bincount(labels.astype(np.int64) * n_classes + preds.astype(np.int64), minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes).astype(np.int64)
