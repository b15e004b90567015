"""The ``stacked`` engine of the learning-rate sweep: N copies of a plain layer stack as stacked tensors.

All copies' parameters live in one ``(N, P)`` buffer (copy k's row holds its parameters in ``named_parameters``
order; each layer's weight is a view of it), their gradients in another. A step is one hand-written forward and
backward for all copies at once (no autograd):

- the first weighted layer sees the same batch in every copy: its im2col (or the flat batch) is built once and
  multiplied by all copies' weights in one product, ``(B·L, K) @ (K, N·O)`` (a row of ones in the im2col carries
  the bias): every output position a row of all copies' channels. Its input gradient is never computed. When a
  2×2 pool follows, the rows are ordered by pool window (the four values of each window in four contiguous
  blocks), so the pool needs no strided access, and its output, memory ``(B, H, W, N, C)``, is one channels-last
  image batch of N·C channels.
- later convolutions: all copies as ONE grouped convolution (N groups) on that channels-last batch, forward and
  weight gradient (oneDNN), reading the previous pool's output and the next pool's gradient in place; the input
  gradient per copy on plain NCHW images (oneDNN's; its grouped and channels-last forms measured slower on the
  CPU, as did im2col + ``bmm`` + col2im). Activations between layers keep the layout they come in.
- linear layers: ``bmm`` over ``(N, B, D)``.
- 2×2 max pooling (:class:`~optviz.training.stacked_layers._Pool`): the maximum of four views, the gradient routed
  to the first maximum of each window in torch's scan order, as ``nn.MaxPool2d`` routes ties, by the three 0/1
  comparisons that chose it; a ReLU/tanh/sigmoid just before a pool is applied after it (``act(max x) = max
  act(x)``: 4× fewer values; for ReLU the same gradient exactly).
- the loss: cross-entropy, mean over the batch, per copy (plus ``l1·Σ|w|`` with an L1 penalty), and its gradient
  as torch's ``log_softmax`` backward computes it.
- large work tensors are kept from step to step (``_Buffers``): fresh ones cost page faults every step.

The layers are in :mod:`optviz.training.stacked_layers`; this module puts them together (:class:`StackedNet`) and
hands the copies to the sweep (:class:`StackedCopies`).

The optimizers are torch.optim's own, one per copy as in the other engines (fused where torch has a fused kernel:
:func:`optviz.training.lr_sweep._optimizer`). For the elementwise update rules (:data:`ELEMENTWISE`: every
registry optimizer the training lab takes) a copy's parameters are handed over as ONE flat tensor (its row of the
buffer): the same update element by element, one call instead of one per tensor.
Copy k thus equals a single run at lr_k up to the float rounding of sums taken in another order (tests: float32).

:func:`unsupported` says why a model cannot run here (BatchNorm, dropout, skip connections, …); the sweep then
falls back to the ``loop`` engine and says so.
"""

from __future__ import annotations

import torch
from torch import nn

from optviz.training.pooling import pair, plain_pool
from optviz.training.stacked_layers import _Act, _Conv, _Flatten, _Linear, _Params, _Pool

# update rules that act element by element (a copy's parameters can be one flat tensor)
ELEMENTWISE = (torch.optim.SGD, torch.optim.Adagrad, torch.optim.RMSprop, torch.optim.Adam, torch.optim.AdamW,
               torch.optim.NAdam, torch.optim.RAdam, torch.optim.Adamax, torch.optim.Adadelta, torch.optim.ASGD,
               torch.optim.Rprop)
_MONOTONE = (nn.ReLU, nn.Tanh, nn.Sigmoid)  # act(max(x)) == max(act(x))
_ACTS = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU)


def _leaves(model: nn.Module) -> list[nn.Module]:
    out: list[nn.Module] = []
    for m in model.children():
        out.extend(_leaves(m) if isinstance(m, nn.Sequential) else [m])
    return out


def _reason(m: nn.Module) -> str:
    """Why layer ``m`` cannot be stacked ("" when it can)."""
    if isinstance(m, nn.Conv2d):
        ok = (m.groups == 1 and pair(m.stride) == (1, 1) and pair(m.dilation) == (1, 1)
              and m.padding_mode == "zeros" and not isinstance(m.padding, str))
        return "" if ok else "a strided, dilated, grouped or non-zero-padded convolution"
    if isinstance(m, nn.MaxPool2d):
        return "" if plain_pool(m) else "max pooling other than 2×2, stride 2"
    if isinstance(m, nn.Flatten):
        return "" if (m.start_dim, m.end_dim) == (1, -1) else "a partial flatten"
    if isinstance(m, nn.Dropout):
        return "" if m.p == 0 else "dropout (each copy needs its own random masks)"
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return "BatchNorm (running statistics per copy)"
    if isinstance(m, (nn.Linear, nn.Identity, *_ACTS)):
        return ""
    return f"{type(m).__name__} layers"


def unsupported(model: nn.Module) -> str:
    """Why the stacked engine cannot train ``model`` ("" when it can): it takes plain ``nn.Sequential`` stacks of
    stride-1 convs, linear layers, ReLU/tanh/sigmoid/GELU, 2×2 max pooling and flatten that end in a linear layer
    (LeNet, the MLP; not with BatchNorm or dropout)."""
    if not isinstance(model, nn.Sequential):
        return f"{type(model).__name__} is not a plain stack of layers (skip connections)"
    for m in _leaves(model):
        if why := _reason(m):
            return why
    last = [m for m in _leaves(model) if not isinstance(m, (nn.Identity, nn.Dropout))][-1:]
    if not (last and isinstance(last[0], nn.Linear)):
        return "a last layer other than a linear classifier"
    return ""


class StackedNet:
    """N copies of a supported layer stack (:func:`unsupported` is "") with their parameters in ``flat`` (N, P)
    and the gradients of the last :meth:`losses` in ``grad`` (N, P)."""

    def __init__(self, model: nn.Module, n: int, l1: float = 0.0) -> None:
        leaves = [m for m in _leaves(model) if not isinstance(m, (nn.Identity, nn.Dropout))]
        for i in range(len(leaves) - 1):  # pool before a monotone activation: the same values, 4× fewer of them
            if isinstance(leaves[i], _MONOTONE) and isinstance(leaves[i + 1], nn.MaxPool2d):
                leaves[i], leaves[i + 1] = leaves[i + 1], leaves[i]
        named = [(name, p) for name, p in model.named_parameters()]
        slots: dict[int, tuple[int, torch.Size]] = {}
        self.slots: list[tuple[str, int, torch.Size]] = []
        off = 0
        for name, p in named:
            slots[id(p)] = (off, p.shape)
            self.slots.append((name, off, p.shape))
            off += p.numel()
        self.flat = torch.cat([p.detach().reshape(-1) for _, p in named]).repeat(n, 1)
        self.grad = torch.zeros_like(self.flat)
        self.l1 = l1
        self.shared: list[nn.Module] = []  # layers before the first weighted one: applied once to the batch
        self.layers: list = []
        self._weighted: list[tuple[object, nn.Module]] = []  # (layer, its module): to rebind in keep()
        self._slot_of = slots
        for m in leaves:
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                params = _Params(m, slots, self.flat, self.grad)
                first = not self.layers
                self.layers.append(_Conv(m, params, first) if isinstance(m, nn.Conv2d) else _Linear(m, params, first))
                self._weighted.append((self.layers[-1], m))
            elif not self.layers:
                self.shared.append(m)
            else:
                self.layers.append(_Pool() if isinstance(m, nn.MaxPool2d) else
                                   _Flatten() if isinstance(m, nn.Flatten) else _Act(m))
        first = self.layers[0]
        after = next((layer for layer in self.layers[1:] if not isinstance(layer, _Act)), None)
        if isinstance(first, _Conv) and isinstance(after, _Pool):  # group the first conv's output by window
            first.grouped = after.grouped = True
        for i, layer in enumerate(self.layers):  # a pool feeding a later conv writes the layout that conv reads
            following = next((later for later in self.layers[i + 1:] if not isinstance(later, _Act)), None)
            if isinstance(layer, _Pool) and isinstance(following, _Conv):
                layer.out_grouped = True

    def keep(self, rows: list[int]) -> None:
        """Only the copies in ``rows`` from now on, in that order: new ``flat`` and ``grad`` buffers with their rows
        (views of the old ones held elsewhere stay valid, and stale)."""
        index = torch.as_tensor(rows, device=self.flat.device)
        self.flat, self.grad = self.flat[index], self.grad[index]
        for layer, module in self._weighted:
            layer.p = _Params(module, self._slot_of, self.flat, self.grad)

    @torch.no_grad()
    def losses(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Every copy's mean cross-entropy on (x, y) (+ l1·Σ|w|), with its gradient left in ``grad``."""
        for m in self.shared:
            x = m(x)
        for layer in self.layers:
            x = layer.forward(x)
        logp = torch.log_softmax(x, -1)  # (N, B, classes)
        n, b, _ = logp.shape
        target = y.view(1, b, 1).expand(n, b, 1)
        losses = -logp.gather(2, target).squeeze(2).mean(1)
        g = logp.exp_().mul_(1.0 / b)  # torch's cross-entropy backward: softmax/B, minus 1/B at the target
        g.scatter_add_(2, target, torch.full((1, 1, 1), -1.0 / b, dtype=g.dtype, device=g.device).expand(n, b, 1))
        for layer in reversed(self.layers):
            g = layer.backward(g)
        if self.l1 > 0:
            losses += self.l1 * self.flat.abs().sum(1)
            self.grad.add_(self.flat.sign(), alpha=self.l1)
        return losses

    def tensors(self, t: torch.Tensor, k: int) -> list[tuple[str, torch.Tensor]]:
        """Copy k's parameters (or gradients, for ``t = grad``) as views, by name."""
        return [(name, t[k, off:off + shape.numel()].view(shape)) for name, off, shape in self.slots]


class StackedCopies:
    """The sweep's copies on the stacked engine (the interface of lr_sweep's other engines)."""

    def __init__(self, base: nn.Module, n: int, l1: float, optimizer_class: type) -> None:
        self.net = StackedNet(base, n, l1)
        self.n = n
        self.elementwise = issubclass(optimizer_class, ELEMENTWISE)
        self.row: dict[int, int] = {k: k for k in range(n)}  # copy → its row in the net (the copies still run)
        self.kept: dict[int, dict[str, torch.Tensor]] = {}  # the weights of copies that stopped
        self.trainable: list[list[torch.Tensor]] = [[] for _ in range(n)]
        self.state: list[list[torch.Tensor]] = [[] for _ in range(n)]
        self._bind()

    def _bind(self) -> None:
        """Each running copy's parameters (one flat row, or a view per tensor), gradients and state: views of the
        net's buffers."""
        flat, grad = self.net.flat, self.net.grad
        for k, r in self.row.items():
            if self.elementwise:  # one flat tensor per copy: the same update, one call
                params, grads = [flat[r]], [grad[r]]
            else:
                params = [v for _, v in self.net.tensors(flat, r)]
                grads = [v for _, v in self.net.tensors(grad, r)]
            for p, g in zip(params, grads):
                p.grad = g
            self.trainable[k], self.state[k] = params, [flat[r]]

    def stop(self, copies: list[int], optimizers: list[torch.optim.Optimizer]) -> None:
        """Copies that diverged stop costing anything: their weights (as they are now) are kept aside and the
        others move to a smaller stacked buffer, their optimizers' parameters and states with them."""
        for k in copies:
            if k in self.row:
                self.kept[k] = self.state_dict(k)
                del self.row[k]
                self.trainable[k], self.state[k] = [], []  # nothing holds the old buffer for a stopped copy
                optimizers[k].state.clear()
                for group in optimizers[k].param_groups:
                    group["params"] = []
        if not self.row:
            return
        old = {k: self.trainable[k] for k in self.row}
        self.net.keep(list(self.row.values()))
        self.row = {k: r for r, k in enumerate(self.row)}
        self._bind()
        for k, before in old.items():  # the optimizer now steps the new views, with the state it had
            opt = optimizers[k]
            swap = {id(a): b for a, b in zip(before, self.trainable[k])}
            for group in opt.param_groups:
                group["params"] = [swap.get(id(p), p) for p in group["params"]]
            moved = {swap.get(id(p), p): s for p, s in opt.state.items()}
            opt.state.clear()
            opt.state.update(moved)

    def losses(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Every copy's loss (NaN for those that stopped)."""
        values = self.net.losses(x, y)
        if len(self.row) == self.n:
            return values
        out = torch.full((self.n,), float("nan"), dtype=values.dtype, device=values.device)
        out[list(self.row)] = values
        return out

    def state_dict(self, i: int) -> dict[str, torch.Tensor]:
        if i in self.kept:
            return self.kept[i]
        return {name: v.detach().cpu().clone() for name, v in self.net.tensors(self.net.flat, self.row[i])}
