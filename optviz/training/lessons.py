"""The training lab's lessons: small trainings on the shipped MNIST 5k whose claims are measured over three seeds.

Each claim trains the lesson's configuration (and the variant it compares with) on the CPU with seeds 0, 1 and 2
and checks the statement for every seed; the numbers it prints are per seed. The configurations are small enough
that all four lessons' claims together take about a minute on a 2-core CPU (``optviz lessons --check`` prints the
time of each).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from optviz.core.lessons import Claim, Edit, Lesson, Measured
from optviz.core.optimizers import OptimizerChoice
from optviz.core.playground_claims import HIMMELBLAU
from optviz.training.analysis import overfit_epoch
from optviz.training.config import TrainConfig
from optviz.training.metrics import RunMetrics

SEEDS = (0, 1, 2)


def train(config: TrainConfig, **changes) -> RunMetrics:
    """Train ``config`` (with ``changes``) on the CPU with the training threads of the app; the first run's metrics."""
    from optviz.training.trainer import Trainer, use_training_threads

    config = dataclasses.replace(config, device="cpu", **changes)
    use_training_threads(config)
    return Trainer(config).run().runs[0].metrics


def _session(config: TrainConfig):
    return HIMMELBLAU.with_(training=config)


# ---- 11. Train vs validation: overfitting ---------------------------------------------------------------------------

OVERFIT = TrainConfig(dataset="mnist5k", subset=1000, val_fraction=0.3, test_fraction=0.1, model="mlp", width=32,
                      epochs=20, batch_size=32, optimizers=(OptimizerChoice("adam"),))


def claim_overfit() -> Claim:
    m = Measured()
    plain_turns, dropout_later, l2_later = [], [], []
    for seed in SEEDS:
        runs = {"plain": train(OVERFIT, seed=seed), "dropout": train(OVERFIT, seed=seed, dropout=0.5),
                "l2": train(OVERFIT, seed=seed, weight_decay=0.01)}
        train_loss = {k: r.epoch_values("train_loss") for k, r in runs.items()}
        val_loss = {k: r.epoch_values("val_loss") for k, r in runs.items()}
        turn = overfit_epoch(train_loss["plain"], val_loss["plain"])
        best = {k: int(np.argmin(v)) for k, v in val_loss.items()}
        m.number(f"seed {seed}: epoch of the lowest validation loss (no regularisation · dropout 0.5 · L2 0.01)",
                 f"{best['plain']} · {best['dropout']} · {best['l2']}")
        m.number(f"seed {seed}: validation loss at its lowest → at epoch {OVERFIT.epochs - 1}; training loss then",
                 f"{val_loss['plain'].min():.3f} → {val_loss['plain'][-1]:.3f}; {train_loss['plain'][-1]:.4f}")
        plain_turns.append(turn is not None and turn == best["plain"])
        dropout_later.append(best["dropout"] > best["plain"])
        l2_later.append(best["l2"] > best["plain"])
    m.check("Without regularisation, validation loss turns up while training loss still falls (every seed)",
            all(plain_turns))
    m.check("Dropout 0.5 moves the lowest validation loss to a later epoch (every seed)", all(dropout_later))
    m.check("L2 (weight decay 0.01) moves it later too (every seed)", all(l2_later))
    return m.claim()


# ---- 12. Vanishing gradients: PlainNet-20 vs ResNet-20 --------------------------------------------------------------

VANISHING = TrainConfig(dataset="mnist5k", subset=2000, val_fraction=0.05, test_fraction=0.05, model="plain20",
                        width=4, batchnorm=False, activation="relu", epochs=10, max_steps=150, batch_size=32,
                        optimizers=(OptimizerChoice("adam", {"lr": 0.003}),))


def claim_vanishing() -> Claim:
    m = Measured()
    ratios, faster = [], []
    for seed in SEEDS:
        plain, res = train(VANISHING, seed=seed), train(VANISHING, seed=seed, model="resnet20")
        g_plain, g_res = float(np.median(plain.grad_norms[:, 0])), float(np.median(res.grad_norms[:, 0]))
        l_plain, l_res = float(plain.batch_loss[-20:].mean()), float(res.batch_loss[-20:].mean())
        m.number(f"seed {seed}: median gradient norm of the first conv layer, PlainNet-20 · ResNet-20",
                 f"{g_plain:.2g} · {g_res:.2g}")
        m.number(f"seed {seed}: mean training loss of steps 131–150, PlainNet-20 · ResNet-20",
                 f"{l_plain:.3f} · {l_res:.3f}")
        ratios.append(g_res / max(g_plain, 1e-300))
        faster.append(l_res < l_plain - 0.1)
    m.check("ResNet-20's first-layer gradient is over 1000× PlainNet-20's (every seed)", min(ratios) > 1e3)
    m.check("ResNet-20's training loss is lower by over 0.1 after 150 steps (every seed)", all(faster))
    with_bn = train(VANISHING, seed=0, batchnorm=True, max_steps=20)
    g_bn = m.number("seed 0: median first-layer gradient norm of PlainNet-20 with BatchNorm (20 steps)",
                    float(np.median(with_bn.grad_norms[:, 0])))
    m.check("With BatchNorm, PlainNet-20's first-layer gradient is over 1e-3 (seed 0)", g_bn > 1e-3)
    return m.claim()


# ---- 13. BatchNorm ------------------------------------------------------------------------------------------------

BATCHNORM = TrainConfig(dataset="mnist5k", subset=1500, model="lenet", epochs=2, batch_size=32,
                        optimizers=(OptimizerChoice("sgd", {"lr": 0.02}),))


def claim_batchnorm() -> Claim:
    m = Measured()
    lower, better = [], []
    for seed in SEEDS:
        off, on = train(BATCHNORM, seed=seed), train(BATCHNORM, seed=seed, batchnorm=True)
        l_off, l_on = float(off.batch_loss[-10:].mean()), float(on.batch_loss[-10:].mean())
        a_off, a_on = off.epochs[-1].val_accuracy, on.epochs[-1].val_accuracy
        m.number(f"seed {seed}: training loss of the last 10 steps, without · with BatchNorm",
                 f"{l_off:.3f} · {l_on:.3f}")
        m.number(f"seed {seed}: validation accuracy after 2 epochs, without · with", f"{a_off:.1%} · {a_on:.1%}")
        lower.append(l_on < l_off - 0.5)
        better.append(a_on > a_off + 0.3)
    m.check("With BatchNorm the training loss is lower by over 0.5 after 2 epochs (every seed)", all(lower))
    m.check("With BatchNorm validation accuracy is higher by over 30 points (every seed)", all(better))
    return m.claim()


# ---- 14. k-fold cross-validation -----------------------------------------------------------------------------------

KFOLD = TrainConfig(dataset="mnist5k", subset=600, model="mlp", width=8, epochs=2, kfold=5,
                    optimizers=(OptimizerChoice("adam"),))
KFOLD_OTHER = OptimizerChoice("sgd", {"lr": 0.1})


def claim_kfold() -> Claim:
    from optviz.training.crossval import cross_validate
    from optviz.training.trainer import use_training_threads

    m = Measured()
    close, mixed = [], []
    for seed in SEEDS:
        configs = {"adam": dataclasses.replace(KFOLD, seed=seed, device="cpu"),
                   "sgd": dataclasses.replace(KFOLD, seed=seed, device="cpu", optimizers=(KFOLD_OTHER,))}
        use_training_threads(configs["adam"])
        s = {k: cross_validate(c).summary for k, c in configs.items()}
        for k, title in (("adam", "Adam lr 0.001"), ("sgd", "SGD lr 0.1")):
            folds = " ".join(f"{a:.0%}" for a in s[k].val_accuracies)
            m.number(f"seed {seed}: {title}, per fold", f"{folds}; mean {s[k].mean_accuracy:.1%} ± "
                                                         f"{s[k].std_accuracy:.1%}")
        wins = [a > b for a, b in zip(s["adam"].val_accuracies, s["sgd"].val_accuracies)]
        ties = [a == b for a, b in zip(s["adam"].val_accuracies, s["sgd"].val_accuracies)]
        m.number(f"seed {seed}: folds won by Adam · by SGD", f"{sum(wins)} · {len(wins) - sum(wins) - sum(ties)}")
        gap = abs(s["adam"].mean_accuracy - s["sgd"].mean_accuracy)
        close.append(gap < min(s["adam"].std_accuracy, s["sgd"].std_accuracy))
        mixed.append(any(wins) and any(not w and not t for w, t in zip(wins, ties)))
    m.check("The two means differ by less than either's fold std (every seed)", all(close))
    m.check("Each configuration wins at least one fold, so one split could name either the winner (every seed)",
            all(mixed))
    return m.claim()


# ---- the lessons ------------------------------------------------------------------------------------------------

TRAINING_LESSONS: dict[str, Lesson] = {lesson.name: lesson for lesson in (
    Lesson(
        "overfitting", 12, "Train vs validation: overfitting, and what delays it", "training", _session(OVERFIT),
        "An MLP with two hidden layers of 256 units (about 270,000 weights) trained with Adam on 600 MNIST digits "
        "(300 more for validation). Training loss falls towards 0 for 20 epochs, but validation loss reaches its "
        "lowest at epoch 4 to 11 (depending on the seed) and then turns up: from there the network learns the 600 "
        "training digits rather than digits. Dropout 0.5 moves the lowest validation loss later (to epochs 8 to "
        "18), and so does L2 weight decay 0.01. Checked for seeds 0, 1 and 2.",
        ("The loss plot: the training curve keeps falling while the validation curve turns up; the epoch where it "
         "turns is marked.",
         "The accuracy plot: training accuracy reaches 100 % while validation accuracy stops improving."),
        (Edit("Add Dropout 0.5", "the validation loss turns up later, and from a lower minimum",
              training={"dropout": 0.5}),
         Edit("Add weight decay 0.01 (L2)", "the validation minimum also comes later",
              training={"weight_decay": 0.01})),
        claim_overfit, seeds=SEEDS),
    Lesson(
        "vanishing", 13, "Vanishing gradients: PlainNet-20 vs ResNet-20", "training", _session(VANISHING),
        "Two networks of 20 weighted layers, ReLU, without BatchNorm, PyTorch's default initialisation, width 4, "
        "trained with Adam (lr 0.003) for 150 steps: PlainNet-20 is ResNet-20 without its skip connections. In "
        "PlainNet the gradient shrinks layer by layer on its way back: the first conv layer's median gradient "
        "norm is 1e-12 to 1e-9, against 0.03 to 1 in ResNet, where every block passes the gradient on through "
        "its skip. PlainNet's loss stays at 2.30 (chance: ln 10); ResNet's falls to 1.0–1.6 by steps 131–150. "
        "With BatchNorm, PlainNet-20's first-layer gradient is about 1 too: the vanishing belongs to this "
        "configuration, not to depth alone. Checked for seeds 0, 1 and 2.",
        ("The gradient-flow heatmap: PlainNet's early layers are dark (tiny norms), ResNet's are lit.",
         "The loss plot: PlainNet's curve is flat at 2.30, ResNet's drops in the second half."),
        (Edit("Switch to ResNet-20", "the same settings with skip connections: the early layers light up",
              training={"model": "resnet20"}),
         Edit("Add BatchNorm to PlainNet-20", "the gradients of the early layers come back",
              training={"batchnorm": True})),
        claim_vanishing, seeds=SEEDS),
    Lesson(
        "batchnorm", 14, "BatchNorm: the same CNN trains faster", "training", _session(BATCHNORM),
        "LeNet-5 trained with SGD at lr 0.02 on 1,050 MNIST digits for 2 epochs (66 steps), with and without "
        "BatchNorm after every conv and linear layer. Without it the loss has barely left 2.30 (ln 10: guessing) "
        "after 66 steps; with it, at the same lr, the loss is 0.75 to 0.82 and validation accuracy 86 % to 89 %. "
        "BatchNorm keeps every layer's inputs at zero mean and unit variance, so the same lr makes useful steps in "
        "every layer from the start. Checked for seeds 0, 1 and 2.",
        ("The loss plot: compare the run without BatchNorm (this one) with the run after \"Add BatchNorm\".",),
        (Edit("Add BatchNorm", "the loss falls at once; run both and overlay them in the runs list",
              training={"batchnorm": True}),),
        claim_batchnorm, seeds=SEEDS),
    Lesson(
        "kfold", 15, "k-fold cross-validation: a difference or not?", "training", _session(KFOLD),
        "Two configurations of a small MLP (64 hidden units, 2 epochs): Adam with lr 0.001, and SGD with lr 0.1. "
        "Of 600 digits, 120 are held out for testing; 5-fold cross-validation splits the other 480 into 5 folds "
        "and trains each configuration 5 times, on 384 digits, with each fold of 96 the validation set once. "
        "Their mean accuracies (61 % to 69 %) differ by less than the folds' standard deviation (3 % to 8 %), and "
        "each configuration wins some folds: on this data the two cannot be told apart, yet a single split would "
        "have named one of them the winner. Checked for seeds 0, 1 and 2.",
        ("The cross-validation table and bars: the per-fold accuracies and mean ± std.",
         "Run the second configuration (\"Try next\") and compare the two means with their error bars."),
        (Edit("Switch to SGD, lr 0.1", "the other configuration: compare its per-fold scores and mean ± std",
              training={"optimizers": ["sgd:lr=0.1"]}),
         Edit("Use Adam with lr 0.003", "a real difference: it beats lr 0.001 on every fold, by more than the "
              "folds' std",
              training={"optimizers": ["adam:lr=0.003"]})),
        claim_kfold, seeds=SEEDS),
)}
