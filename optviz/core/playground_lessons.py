"""The playground's lessons: their texts, what to look for and what to try next.

Every number in a text here is what the lesson's claim measures (:mod:`optviz.core.playground_claims`; ``optviz
lessons --check`` prints them, and tests/core/test_lessons.py compares the quoted ones).
"""

from __future__ import annotations

from optviz.core.lessons import Edit, Lesson
from optviz.core.playground_claims import (ADAGRAD, ADAM, DECAY, DECAY_SEEDS, DIVERGENCE, HIMMELBLAU, L1_ALPHA, L1_L2,
                                           QUADRATIC, ROSENBROCK, SADDLE, WEIGHT_DECAY, WELLS, WELLS_SEEDS,
                                           claim_adagrad, claim_adam, claim_decay, claim_divergence,
                                           claim_himmelblau, claim_l1_l2, claim_quadratic, claim_rosenbrock,
                                           claim_saddle, claim_weight_decay, claim_wells)
from optviz.core.session import Session

# ---- the lessons ------------------------------------------------------------------------------------------------

PLAYGROUND_LESSONS: dict[str, Lesson] = {lesson.name: lesson for lesson in (
    Lesson(
        "himmelblau", 1, "Six optimizers, three minima", "playground", HIMMELBLAU,
        "Himmelblau's function has four minima, all of value 0. From one start, (1.5, −4), six optimizers end in "
        "three different ones: SGD, Adagrad and Adam settle in the nearest, (3.58, −1.85); Nesterov curves round "
        "to (3, 2); Momentum keeps its speed over a ridge and ends at (−2.81, 3.13). RMSProp reaches (3.58, −1.85) "
        "by step 71 but does not stay: its step is lr·g/√(mean of g²), and once g is as small as it gets, the mean "
        "of g² goes on forgetting the larger gradients before, so the step grows back to about lr and throws it out "
        "after step 188 (loss 1.76 after 300 steps). Where you end depends on the optimizer and its settings, not "
        "only on where you start.",
        ("The ends of the paths: red (SGD), purple (Adagrad) and brown (Adam) meet at the star at the bottom right, "
         "green (Nesterov) stops at the top right one, blue (Momentum) crosses to the top left.",
         "The loss plot: orange (RMSProp) drops to the bottom with the others, then jumps back up near step 190 "
         "and stays up, jagged.",
         "The status table: the minimum each path ended in."),
        (Edit("Lower Momentum's lr to 0.002", "Momentum no longer crosses the ridge: it stops at (3, 2), with "
              "Nesterov", optimizers={"momentum": {"lr": 0.002}}),
         Edit("Lower RMSProp's lr to 0.01", "it comes closer to (3.58, −1.85) (loss 0.15) but still jitters around "
              "it", optimizers={"rmsprop": {"lr": 0.01}}),
         Edit("Start at (−1, −1)", "all five that settle now reach the same minimum, (−3.78, −3.28)",
              starts=((-1.0, -1.0),))),
        claim_himmelblau),
    Lesson(
        "wells", 2, "Noisy gradients: momentum escapes a shallow well", "playground", WELLS,
        "The wells surface is a bowl with three Gaussian wells: a deep one at (1.72, −1.14) (f = −1.73) and two "
        "shallow ones. Both optimizers get the same noisy gradients (Gaussian noise σ = 0.1 added to every "
        "gradient, as a mini-batch would) and the same lr 0.1. SGD falls into the shallow well at (−0.96, 0.96) "
        "on its way and stays there, jittering; Momentum's velocity carries it through that well to the deep "
        "one. Checked for noise seeds 0–4.",
        ("The red path (SGD) ends in the small well at the top left; the blue one (Momentum) passes over it and "
         "ends at the star.",
         "The loss plot (f − f*, measured from the deep well's −1.73): SGD's curve flattens near 1.05, where the "
         "shallow well's −0.69 is; Momentum's goes on down and jitters below 0.1 (the noise never lets it stop: "
         "the status table says \"still moving\")."),
        (Edit("Raise the noise to σ = 0.3", "now the noise decides: with seeds 1, 4 and 6 Momentum ends in a "
              "shallow well too (change the seed to see)",
              optimizers={"sgd": {"noise": 0.3}, "momentum": {"noise": 0.3}}),
         Edit("Give Momentum lr 0.05", "with half the step, Momentum also stays in the shallow well",
              optimizers={"momentum": {"lr": 0.05}})),
        claim_wells, seeds=WELLS_SEEDS),
    Lesson(
        "rosenbrock", 3, "Rosenbrock's valley: Momentum overshoots, Nesterov corrects", "playground", ROSENBROCK,
        "Rosenbrock's valley floor is the curve y = x², steep across and nearly flat along. From (0, 2), with the "
        "same lr (0.001) and momentum 0.9, Momentum crosses the floor 45 times in 1,000 steps, swinging up to "
        "1.42 beyond it (in y − x²), while Nesterov, which takes its gradient at the point the velocity is about "
        "to reach and so brakes before the far wall, crosses it 5 times and swings at most 0.83. SGD is still "
        "0.62 from the minimum (1, 1) after 1,000 steps; Adam gets within 0.08.",
        ("The blue path (Momentum) zig-zags across the valley floor; the green one (Nesterov) hugs it.",
         "The loss plot: Momentum's curve is jagged where it swings across, Nesterov's is smooth.",
         "The red path (SGD) is still creeping along the valley at the end."),
        (Edit("Lower Momentum's and Nesterov's momentum to 0.5", "the swinging stops (3 crossings and 1), and "
              "both end together at (0.82, 0.68), still short of (1, 1)",
              optimizers={"momentum": {"momentum": 0.5}, "nesterov": {"momentum": 0.5}}),
         Edit("Raise Momentum's and Nesterov's lr to 0.002", "Momentum's swings now carry it to (1, 1); Nesterov "
              "ends at (0.86, 0.73)", optimizers={"momentum": {"lr": 0.002}, "nesterov": {"lr": 0.002}})),
        claim_rosenbrock),
    Lesson(
        "quadratic", 4, "An ill-conditioned bowl (κ = 100): steps to the minimum", "playground", QUADRATIC,
        "f = ½(x² + 100·y²) is 100 times steeper across (y) than along (x). SGD's lr must stay below 2/100 = 0.02 "
        "or the steep direction blows up, and with lr 0.019 the shallow direction shrinks by only 2 % a step: SGD "
        "needs 390 steps to f < 1e-6. Momentum (lr 0.03, momentum 0.67, the classic tuning for κ = 100) needs 59, "
        "Adam (lr 0.1) 184. Adagrad needs 20: it divides each coordinate by its own gradient scale, which undoes "
        "an axis-aligned ill-conditioning completely. RMSProp with lr 0.01 needs 423: its step stays near lr, so "
        "it bounces once close.",
        ("The loss plot: the curves pass 1e-6 in the order Adagrad, Momentum, Adam, SGD, RMSProp.",
         "The red path (SGD) zig-zags across the steep y direction (each step multiplies y by 1 − 0.019·100 = "
         "−0.9) while it crawls along x.",
         "The status table: its \"converged at step …\" is when the gradient norm stays below 10⁻⁶, a stricter "
         "test than f < 1e-6 (f shrinks with the square of the gradient), so every one of its steps is later."),
        (Edit("Raise SGD's lr to 0.021 (above 2/κ)", "SGD diverges: the steep direction grows by 1.1 each step",
              optimizers={"sgd": {"lr": 0.021}}),),
        claim_quadratic),
    Lesson(
        "adagrad", 5, "Adagrad stalls, RMSProp keeps moving", "playground", ADAGRAD,
        "Both divide the step by √s, s built from squared gradients. Adagrad's s is the sum of all of them, so "
        "it only grows: after the steep walls of Rosenbrock's valley its effective step lr/√s stays below 0.0017 "
        "for the rest of the run, even with lr 0.1, and after 2,000 steps it is still 1.0 from (1, 1). RMSProp's s "
        "is a moving average that forgets the walls: with a 10× smaller lr (0.01) its effective step grows back "
        "to 0.0126 in the flat valley and it gets within 0.12 of (1, 1). It never settles there, though: once "
        "the gradients are small its step returns to about lr, and it keeps moving (last step 0.014).",
        ("The purple path (Adagrad) slows to a crawl soon after reaching the valley; the orange one (RMSProp) runs "
         "along it.",
         "The loss plot: Adagrad's curve flattens early; RMSProp's keeps falling, then jitters."),
        (Edit("Raise Adagrad's lr to 1", "even with 100× RMSProp's lr, Adagrad ends farther from (1, 1) (0.57 "
              "against 0.12)", optimizers={"adagrad": {"lr": 1.0}}),),
        claim_adagrad),
    Lesson(
        "adam", 6, "Adam's first steps are lr per coordinate", "playground", ADAM,
        "Adam is momentum (m, the average gradient) plus RMSProp-style scaling (v, the average squared gradient) "
        "plus bias correction: m and v start at 0, so they are divided by 1 − β₁ᵗ and 1 − β₂ᵗ. At the first step "
        "m̂ = g and v̂ = g², so the step is lr·g/|g|: exactly lr in every coordinate, whatever the gradient's "
        "scale. Here the gradient at the start is (−2.5, 200); SGD's first step is 80 times longer in y than in "
        "x, Adam's is 0.1 in both, for κ = 1, 10 and 100 alike.",
        ("The first step of the brown path (Adam): a 45° diagonal; the red one (SGD) shoots almost straight down.",
         "Scrub the timeline to step 1 and compare the two heads."),
        (Edit("Set Adam's β₁ to 0 (RMSProp with bias correction)", "no momentum: Adam converges in 140 steps "
              "instead of still moving at 200", optimizers={"adam": {"beta1": 0.0}}),
         Edit("Set κ to 1", "the gradient is now the same in both coordinates; Adam's first step is still lr in "
              "each", surface_params={"kappa": 1.0})),
        claim_adam),
    Lesson(
        "saddle", 7, "Escaping a saddle", "playground", SADDLE,
        "On x² − y² the origin is a saddle: a minimum along x, a maximum along y. Starting almost on the ridge "
        "(y = 0.001), the gradient across it is tiny, so SGD, whose step is proportional to the gradient, needs 73 "
        "steps to get away (|y| > 1). Momentum and Nesterov build up speed and leave in 27 and 24. Adagrad, RMSProp "
        "and Adam divide by the gradient's own scale, so a tiny gradient still gives a step of about lr: they "
        "leave in 17 to 20.",
        ("The red path (SGD) runs all the way to the saddle before it turns away along y; blue and green "
         "(Momentum, Nesterov) overshoot past it; purple, orange and brown (Adagrad, RMSProp, Adam) turn up long "
         "before it.",
         "The loss plot: SGD's curve stays flat longest before it drops."),
        (Edit("Start exactly on the ridge (y = 0)", "no optimizer leaves the ridge: the gradient across it is "
              "exactly 0, and they all head for the saddle point itself", starts=((-1.5, 0.0),)),),
        claim_saddle),
    Lesson(
        "divergence", 8, "Too large a learning rate", "playground", DIVERGENCE,
        "On Rosenbrock, SGD with lr 0.01 leaves the surface at step 3: the walls of the valley are so steep that "
        "a step of lr·gradient overshoots further each time. Adam with the same lr stays stable, because its step "
        "is about lr per coordinate whatever the gradient's size.",
        ("The red path (SGD) leaves the view at once; an arrow at the edge shows where it went.",
         "The status table: \"diverged at step 3\"."),
        (Edit("Lower SGD's lr to 0.001", "SGD no longer diverges; it crawls along the valley",
              optimizers={"sgd": {"lr": 0.001}}),),
        claim_divergence),
    Lesson(
        "l1-l2", 9, "L1 vs L2: L1 puts the minimum on an axis, L2 only shrinks it", "playground", L1_L2,
        "Booth's function, minimum (1, 3), with a penalty of strength α = 20 added. L1 adds α·(|x| + |y|), whose "
        "slope is ±α however close to 0: it pushes x all the way to 0 and the minimum lands exactly on the y axis, "
        "at (0, 1.8), where Booth's own slope across the axis (19.6) is smaller than α. L2 adds (α/2)·(x² + y²), "
        "whose slope α·x fades near 0: it only shrinks the minimum, to (0.856, 1.038), never onto an axis. Adam "
        "ends within 0.05 of the L1 minimum; SGD with a fixed lr does not settle on the kink (it ends 0.22 off the "
        "axis): across the axis the gradient jumps by 2α = 40.",
        ("The star: the L1 minimum sits on the y axis, x = 0.",
         "The brown path (Adam) runs to the axis and along it; the red one (SGD) keeps stepping across it."),
        (Edit("Switch to L2 (same α)", "the minimum moves off the axis to (0.856, 1.038), and both optimizers "
              "converge to it", penalty=("l2", L1_ALPHA)),
         Edit("Lower α to 5", "now Booth's slope across the axis (7.6 at (0, 3.3)) is larger than α, and L1's "
              "minimum leaves the axis: (0.722, 2.722)", penalty=("l1", 5.0))),
        claim_l1_l2),
    Lesson(
        "weight-decay", 10, "Weight decay: L2 in the gradient vs decoupled (AdamW)", "playground", WEIGHT_DECAY,
        "Weight decay λ = 0.5 on Booth, whose minimum is (1, 3). torch's weight_decay adds λ·x to the gradient "
        "(L2); AdamW instead shrinks x by lr·λ·x outside the adaptive step (decoupled). For SGD the two are the "
        "same update, and SGD ends at the minimum of f + (λ/2)|x|², (1.146, 2.746). Adam divides the λ·x term by "
        "√v̂ like the rest of the gradient, AdamW does not: Adam with L2 ends near (1.29, 2.60), AdamW at (1.06, "
        "1.21), pulled far closer to the origin.",
        ("The ends of the two Adam paths (brown: L2 in the gradient; pink: AdamW) lie 1.4 apart.",
         "The red path (SGD) ends exactly at the regularised minimum, not at the star (1, 3)."),
        (Edit("Set AdamW's weight decay to 0.1", "AdamW's end moves back towards (1, 3)",
              optimizers={"adamw": {"weight_decay": 0.1}}),),
        claim_weight_decay),
    Lesson(
        "lr-decay", 11, "Learning-rate decay lets SGD settle", "playground", DECAY,
        "Four SGD runs with lr 0.1 and the same noisy gradients (σ = 1) on a bowl: one with a constant lr, three "
        "whose lr decays (step: halved every 100 steps; exponential: × 0.99 a step; time-based: lr/(1 + 0.05·t)). "
        "With a constant lr the noise keeps the path bouncing around the minimum (mean loss 0.06 to 0.11 over the "
        "last 50 steps); each decaying lr shrinks the bounce and ends more than 10 times lower (0.0001 to 0.0025). "
        "Checked for noise seeds 0–2.",
        ("The constant-lr path (red) keeps scribbling around the centre; the decayed ones (lighter and darker "
         "reds) close in on it.",
         "The loss plot: all four are noisy, but the constant lr's curve stays on top while the others sink 10 "
         "times lower or more."),
        (Edit("Remove the noise from all four", "without noise a constant lr is best: it converges by step 140 "
              "and step decay by 182, while exponential and 1/t decay are still short of the minimum at step 500 "
              "(loss 4e-9 and 5e-6): decay is for noise",
              optimizers={name: {"noise": 0.0} for name in ("constant", "step", "exponential", "time")}),),
        claim_decay, seeds=DECAY_SEEDS),
)}

DEFAULT_LESSON = "himmelblau"


def default_session() -> Session:
    """The session the app opens on: the first lesson, where the six optimizers visibly differ."""
    return PLAYGROUND_LESSONS[DEFAULT_LESSON].session
