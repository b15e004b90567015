"""The C source of the fast engine's kernel: the surface's ``surface_block`` and the update rules, for rows.

``optviz_run`` steps blocks of up to ``BLOCK`` rows of one kind (rows of one optimizer family) for every step:
the surface's values and gradients for the block (:mod:`optviz.core.codegen`), the statuses of simulate (a
converged step, a diverged step), optional records of every step, then the update of :mod:`optviz.core.rules`
written for arrays. Everything that changes while a user plays is an argument.
"""

from __future__ import annotations

from optviz.core import codegen, loops, rules

BLOCK = 256  # rows stepped together: loops over a block vectorise and amortise each math call
STAGGER = 24  # doubles between scratch arrays (see OV_STAGGER in the template)


class BuildError(Exception):
    """The fast engine cannot exist for this surface here (no compiler, an untranslatable surface, …)."""


TEMPLATE = r"""
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define OV_BLOCK %(block)d
/* Scratch arrays are OV_LEN doubles apart, not 4096 bytes: elements of the same index in different arrays then
   never share their address modulo 4096, where the processor stalls a load behind an unrelated store ("4K
   aliasing"; it made rows of a batch run up to 4x slower when the caller's arrays happened to be so spaced). */
#define OV_STAGGER %(stagger)d
#define OV_LEN (2 * OV_BLOCK + OV_STAGGER)
enum { %(hyper_enum)s, NH };
enum { S_BUF, S_SUM, S_AVG, S_MAX, NS };
enum { %(math_enum)s, OV_NMATH };

/* The math table: libm by default; optviz_set_math points an entry at torch's own vector function (MKL VML),
   so that sqrt, exp, cos, ... round exactly as the eager engine's do. */
typedef void (*ov_fn)(int, const double *, double *);
typedef void (*ov_vml_fn)(int, const double *, double *, int64_t);
static ov_vml_fn ov_vml[OV_NMATH];
static int64_t ov_vml_mode;
#define OV_MATH(name, NAME) \
    static void ov_libm_##name(int n, const double *a, double *r) { for (int i = 0; i < n; i++) r[i] = name(a[i]); } \
    static void ov_mkl_##name(int n, const double *a, double *r) { ov_vml[OV_##NAME](n, a, r, ov_vml_mode); }
%(math_defs)s
static ov_fn ov_math[OV_NMATH] = { %(math_libm)s };
static const ov_fn ov_mkl[OV_NMATH] = { %(math_mkl)s };
static const ov_fn ov_libm[OV_NMATH] = { %(math_libm)s };

void optviz_set_math(int index, void *vml, int64_t mode) {
    ov_vml[index] = (ov_vml_fn)vml;
    ov_vml_mode = mode;
    ov_math[index] = vml ? ov_mkl[index] : ov_libm[index];
}

static inline double ov_max(double a, double b) { return (a != a || b != b) ? a + b : (a > b ? a : b); }
static inline double ov_min(double a, double b) { return (a != a || b != b) ? a + b : (a < b ? a : b); }
static inline double ov_lerp(double a, double b, double w) {  /* ATen's lerp, fused as ATen compiles it */
    return fabs(w) < 0.5 ? fma(w, b - a, a) : fma(w - 1.0, b - a, b);
}

%(surface)s

/* Hyperparameters of the block's rows, one per coordinate (element e is row e / 2). */
typedef struct { double v[NH][OV_LEN]; int uniform; } ov_hyper;  /* uniform: all rows share one row */

/* bfloat16 as torch rounds a float to it (to nearest even; NaN stays NaN), returned as a float. */
static inline float ov_bf16(float f) {
    if (f != f) return f;
    uint32_t u;
    memcpy(&u, &f, 4);
    u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
    memcpy(&f, &u, 4);
    return f;
}
static inline double ov_f32(double v) { return (double)(float)v; }  /* torch's float32 scalar state */
static inline double ov_sign(double v) { return v > 0.0 ? 1.0 : v < 0.0 ? -1.0 : v == 0.0 ? 0.0 : v; }

/* One step t (1, 2, ...) of m = 2n coordinates of one kind: torch.optim's single-tensor update, in its order.
   ATen's CPU kernels fuse a + alpha*b (add with alpha), a + v*b*c (addcmul) and lerp into one multiply-add,
   and compute sqrt with the math table; addcdiv a + v*b/c is not fused. fma() marks exactly those. Numbers that
   torch.optim computes as Python floats (bias corrections, NAdam's mu, RAdam's rectification) use libm's pow as
   Python does; numbers it keeps as float32 tensors (NAdam's mu_product, ASGD's eta and mu) are rounded so. */
static void ov_update(int kind, int m, double t, const ov_hyper *H, double *x, const double *grad,
                      double *buf, double *sum, double *avg, double *vmax, double *gw, double *tin, double *tout) {
    const double *lr = H->v[H_LR], *wd = H->v[H_WEIGHT_DECAY], *mom = H->v[H_MOMENTUM], *eps = H->v[H_EPS];
    const double *dec = H->v[H_DECOUPLED], *b1 = H->v[H_BETA1], *b2 = H->v[H_BETA2];
    for (int e = 0; e < m; e++)                                   /* grad.add(param, alpha=weight_decay) */
        gw[e] = (wd[e] != 0.0 && dec[e] == 0.0) ? fma(wd[e], x[e], grad[e]) : grad[e];
    if (kind >= 3)                                                /* param.mul_(1 - lr * weight_decay) */
        for (int e = 0; e < m; e++)
            x[e] = ((wd[e] != 0.0 && dec[e] != 0.0) || kind == 10) ? x[e] * (1.0 - lr[e] * wd[e]) : x[e];
    if (kind == 0) {                                              /* sgd, momentum, nesterov */
        const double *damp = H->v[H_DAMPENING], *nest = H->v[H_NESTEROV];
        for (int e = 0; e < m; e++) {
            const double g = gw[e];
            const double b = (t == 1.0) ? g : fma(1.0 - damp[e], g, buf[e] * mom[e]);
            const double d = (mom[e] == 0.0) ? g : (nest[e] != 0.0) ? fma(mom[e], b, g) : b;
            buf[e] = (mom[e] == 0.0) ? buf[e] : b;
            x[e] = fma(-lr[e], d, x[e]);
        }
    } else if (kind == 1) {                                       /* adagrad */
        const double *decay = H->v[H_LR_DECAY];
        for (int e = 0; e < m; e++) sum[e] = fma(gw[e], gw[e], sum[e]);
        ov_math[OV_SQRT](m, sum, tout);
        for (int e = 0; e < m; e++) {
            const double clr = lr[e] / (1.0 + (t - 1.0) * decay[e]);
            x[e] = x[e] + ((-clr) * gw[e]) / (tout[e] + eps[e]);
        }
    } else if (kind == 2) {                                       /* rmsprop */
        const double *alpha = H->v[H_ALPHA], *centered = H->v[H_CENTERED];
        for (int e = 0; e < m; e++) {
            sum[e] = fma((1.0 - alpha[e]) * gw[e], gw[e], sum[e] * alpha[e]);
            const double a = ov_lerp(avg[e], gw[e], 1.0 - alpha[e]);
            avg[e] = (centered[e] != 0.0) ? a : avg[e];
            tin[e] = (centered[e] != 0.0) ? fma(-a, a, sum[e]) : sum[e];
        }
        ov_math[OV_SQRT](m, tin, tout);
        for (int e = 0; e < m; e++) {
            const double a = tout[e] + eps[e];
            const double b = buf[e] * mom[e] + gw[e] / a;            /* mul_(momentum).addcdiv_(grad, avg) */
            buf[e] = (mom[e] > 0.0) ? b : buf[e];
            x[e] = (mom[e] > 0.0) ? fma(-lr[e], b, x[e]) : x[e] + ((-lr[e]) * gw[e]) / a;
        }
    } else if (kind == 3) {                                       /* adam, adamw */
        const double *ams = H->v[H_AMSGRAD];
        for (int e = 0; e < m; e++) {
            avg[e] = ov_lerp(avg[e], gw[e], 1.0 - b1[e]);
            sum[e] = fma((1.0 - b2[e]) * gw[e], gw[e], sum[e] * b2[e]);
            vmax[e] = (ams[e] != 0.0) ? ov_max(vmax[e], sum[e]) : vmax[e];
            tin[e] = (ams[e] != 0.0) ? vmax[e] : sum[e];
        }
        ov_math[OV_SQRT](m, tin, tout);
        double *step_size = gw + OV_LEN, *bc2_sqrt = tin;  /* scratch: gw is read below, tin is done */
        if (H->uniform) {                                         /* one optimizer in the block: once */
            const double ss = lr[0] / (1.0 - pow(b1[0], t)), bc = pow(1.0 - pow(b2[0], t), 0.5);
            for (int e = 0; e < m; e++) { step_size[e] = ss; bc2_sqrt[e] = bc; }
        } else {
            for (int e = 0; e < m; e++) {                         /* Python floats in torch.optim: libm pow */
                step_size[e] = lr[e] / (1.0 - pow(b1[e], t));
                bc2_sqrt[e] = pow(1.0 - pow(b2[e], t), 0.5);
            }
        }
        for (int e = 0; e < m; e++)
            x[e] = x[e] + ((-step_size[e]) * avg[e]) / (tout[e] / bc2_sqrt[e] + eps[e]);
    } else if (kind == 4) {                                       /* nadam (vmax: mu_product) */
        const double *psi = H->v[H_MOMENTUM_DECAY];
        for (int e = 0; e < m; e++) {
            avg[e] = ov_lerp(avg[e], gw[e], 1.0 - b1[e]);
            sum[e] = fma((1.0 - b2[e]) * gw[e], gw[e], sum[e] * b2[e]);
            tin[e] = sum[e] / (1.0 - pow(b2[e], t));
        }
        ov_math[OV_SQRT](m, tin, tout);
        for (int e = 0; e < m; e++) {
            const double mu = b1[e] * (1.0 - 0.5 * pow(0.96, t * psi[e]));
            const double mu_next = b1[e] * (1.0 - 0.5 * pow(0.96, (t + 1.0) * psi[e]));
            const double prod = (double)((float)vmax[e] * (float)mu), denom = tout[e] + eps[e];
            vmax[e] = prod;
            x[e] = x[e] + ((-lr[e] * (1.0 - mu) / (1.0 - prod)) * gw[e]) / denom;
            x[e] = x[e] + (((-lr[e] * mu_next) / (1.0 - prod * mu_next)) * avg[e]) / denom;
        }
    } else if (kind == 5) {                                       /* radam */
        for (int e = 0; e < m; e++) {
            avg[e] = ov_lerp(avg[e], gw[e], 1.0 - b1[e]);
            sum[e] = fma((1.0 - b2[e]) * gw[e], gw[e], sum[e] * b2[e]);
        }
        ov_math[OV_SQRT](m, sum, tout);
        for (int e = 0; e < m; e++) {
            const double bc1 = 1.0 - pow(b1[e], t), bc2 = 1.0 - pow(b2[e], t);
            const double rho_inf = 2.0 / (1.0 - b2[e]) - 1.0, rho_t = rho_inf - 2.0 * t * pow(b2[e], t) / bc2;
            const double corrected = avg[e] / bc1;
            if (rho_t > 5.0) {
                const double rect = pow((rho_t - 4.0) * (rho_t - 2.0) * rho_inf /
                                        ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t), 0.5);
                const double adaptive = (1.0 / (tout[e] + eps[e])) * pow(bc2, 0.5);  /* float / tensor */
                x[e] = x[e] - corrected * lr[e] * adaptive * rect;
            } else {
                x[e] = x[e] - corrected * lr[e];
            }
        }
    } else if (kind == 6) {                                       /* adamax (vmax: exp_inf) */
        for (int e = 0; e < m; e++) {
            avg[e] = ov_lerp(avg[e], gw[e], 1.0 - b1[e]);
            vmax[e] = ov_max(vmax[e] * b2[e], fabs(gw[e]) + eps[e]);
            const double clr = lr[e] / (1.0 - pow(b1[e], t));
            x[e] = x[e] + ((-clr) * avg[e]) / vmax[e];
        }
    } else if (kind == 7) {                                       /* adadelta (buf: acc_delta) */
        const double *rho = H->v[H_RHO];
        for (int e = 0; e < m; e++) {
            sum[e] = fma((1.0 - rho[e]) * gw[e], gw[e], sum[e] * rho[e]);
            tin[e] = sum[e] + eps[e];
        }
        ov_math[OV_SQRT](m, tin, tout);
        for (int e = 0; e < m; e++) tin[e] = buf[e] + eps[e];
        double *root_acc = gw + OV_LEN;
        ov_math[OV_SQRT](m, tin, root_acc);
        for (int e = 0; e < m; e++) {
            const double delta = root_acc[e] / tout[e] * gw[e];
            buf[e] = fma((1.0 - rho[e]) * delta, delta, buf[e] * rho[e]);
            x[e] = fma(-lr[e], delta, x[e]);
        }
    } else if (kind == 8) {                                       /* asgd (avg: ax, sum: eta, vmax: mu) */
        const double *lambd = H->v[H_LAMBD], *alpha = H->v[H_ALPHA], *t0 = H->v[H_T0];
        for (int e = 0; e < m; e++) {
            const double eta = sum[e];
            x[e] = fma(-eta, gw[e], x[e] * (1.0 - lambd[e] * eta));
            avg[e] = (vmax[e] != 1.0) ? avg[e] + (x[e] - avg[e]) * vmax[e] : x[e];
            sum[e] = ov_f32(lr[e] / pow(1.0 + lambd[e] * lr[e] * t, alpha[e]));
            vmax[e] = ov_f32(1.0 / fmax(1.0, t - t0[e]));
        }
    } else if (kind == 9) {                                       /* rprop (buf: prev, sum: step_size) */
        const double *minus = H->v[H_ETAMINUS], *plus = H->v[H_ETAPLUS];
        const double *lo = H->v[H_STEP_SIZE_MIN], *hi = H->v[H_STEP_SIZE_MAX];
        for (int e = 0; e < m; e++) {
            const double s = ov_sign(gw[e] * buf[e]);
            const double f = s > 0.0 ? plus[e] : s < 0.0 ? minus[e] : s == 0.0 ? 1.0 : s;
            double size = sum[e] * f;
            size = (size != size) ? size : (size < lo[e] ? lo[e] : size);
            size = (size != size) ? size : (size > hi[e] ? hi[e] : size);
            sum[e] = size;
            const double g = (f == minus[e]) ? 0.0 : gw[e];
            x[e] = fma(-ov_sign(g), size, x[e]);
            buf[e] = g;
        }
    } else {                                                      /* muon: each row a 1x2 matrix */
        const double *nest = H->v[H_NESTEROV], *ns = H->v[H_NS_STEPS];
        const float A = 3.4445f, B = -4.775f, C = 2.0315f;
        for (int e = 0; e < m; e += 2) {
            double u[2];
            for (int c = 0; c < 2; c++) {
                buf[e + c] = ov_lerp(buf[e + c], gw[e + c], 1.0 - mom[e]);
                u[c] = (nest[e] != 0.0) ? ov_lerp(gw[e + c], buf[e + c], mom[e]) : buf[e + c];
            }
            float x0 = ov_bf16((float)u[0]), x1 = ov_bf16((float)u[1]);
            float norm = ov_bf16(sqrtf(x0 * x0 + x1 * x1));
            const float floor = ov_bf16((float)eps[e]);
            norm = (norm != norm) ? norm : (norm < floor ? floor : norm);
            x0 = ov_bf16(x0 / norm);
            x1 = ov_bf16(x1 / norm);
            for (int k = 0; k < (int)ns[e]; k++) {
                const float gram = ov_bf16(x0 * x0 + x1 * x1);
                const float upd = ov_bf16(B * gram + C * (gram * gram));
                x0 = ov_bf16(A * x0 + upd * x0);
                x1 = ov_bf16(A * x1 + upd * x1);
            }
            x[e] = fma(-lr[e], (double)x0, x[e]);
            x[e + 1] = fma(-lr[e], (double)x1, x[e + 1]);
        }
    }
}

#define OV_IREC 10  /* an internals record per row and step: the gradient used (2), then the state slots (4 x 2) */

/* Rows [r0, r1) of n_rows, n_evals evaluations (n_evals - 1 steps) from step t0. pos: [row][2];
   state: [NS][row][2]. rec (optional): positions [row][k][2], then losses [row][k], then gradient norms [row][k].
   conv: the step from which the gradient norm stays below tol to the end (or -1); div: the first bad step (or
   -1), simulate's rules on the same numbers; last: [row][f, gnorm] at the last evaluation. Without rec, a block
   stops when all its rows are bad, and a bad row has conv -1. Optional: noise [row][k][2] added to the gradient
   that step k + 1 uses (not to the recorded norms); lrs [group][k], the learning rate of step k + 1; irow[row]
   >= 0 records row's internals at irec[irow][k][OV_IREC] after step k + 1. */
void optviz_run(int64_t r0, int64_t r1, int64_t n_rows, int64_t n_evals, double t0,
                const int32_t *group, const double *table, const double *sp,
                double *pos, double *state, double *rec, double tol, const double *box,
                int64_t *conv, int64_t *div, double *last,
                const double *noise, const double *lrs, const int64_t *irow, double *irec) {
    double *work = malloc(sizeof(double) * OV_SURFACE_SLOTS * (OV_BLOCK + OV_STAGGER));
    ov_hyper *H = malloc(sizeof(ov_hyper));
    double *scratch = malloc(sizeof(double) * 12 * OV_LEN);  /* each block's rows, copied in and out */
    if (!work || !H || !scratch) { free(work); free(H); free(scratch); return; }
    double *f = scratch, *gn_all = f + OV_LEN, *g = gn_all + OV_LEN, *gw = g + OV_LEN;  /* gw: 2 x OV_LEN */
    double *tin = gw + 2 * OV_LEN, *tout = tin + OV_LEN, *x = tout + OV_LEN, *buf = x + OV_LEN;
    double *sum = buf + OV_LEN, *avg = sum + OV_LEN, *vmax = avg + OV_LEN;
    const double lo_x = box[0], hi_x = box[1], lo_y = box[2], hi_y = box[3];
    const int64_t n_steps = n_evals - 1;
    int64_t b0 = r0;
    while (b0 < r1) {
        const int kind = (int)table[NH * (int64_t)group[b0] + H_KIND];
        int64_t b1 = b0 + 1;
        while (b1 < r1 && b1 - b0 < OV_BLOCK && (int)table[NH * (int64_t)group[b1] + H_KIND] == kind) b1++;
        const int n = (int)(b1 - b0), m = 2 * n;
        H->uniform = 1;
        for (int e = 0; e < m; e++) {
            const double *h = table + NH * (int64_t)group[b0 + e / 2];
            for (int c = 0; c < NH; c++) H->v[c][e] = h[c];
            H->uniform &= group[b0 + e / 2] == group[b0];
        }
        double *const rows[5] = {pos + 2 * b0, state + (S_BUF * n_rows + b0) * 2, state + (S_SUM * n_rows + b0) * 2,
                                 state + (S_AVG * n_rows + b0) * 2, state + (S_MAX * n_rows + b0) * 2};
        for (int s = 0; s < 5; s++) memcpy(x + s * OV_LEN, rows[s], sizeof(double) * m);  /* x, buf, sum, ... */
        for (int i = 0; i < n; i++) { conv[b0 + i] = -1; div[b0 + i] = -1; }
        for (int64_t k = 0; k < n_evals; k++) {
            surface_block(n, x, sp, f, g, work);
            for (int i = 0; i < n; i++)  /* torch.linalg.vector_norm's order: fused, hardware sqrt */
                gn_all[i] = sqrt(fma(g[2 * i + 1], g[2 * i + 1], g[2 * i] * g[2 * i]));
            if (rec) {  /* positions (n_rows, n_evals, 2), then losses and norms (n_rows, n_evals) */
                const int64_t all = n_rows * n_evals;
                for (int i = 0; i < n; i++) {
                    const int64_t at = (b0 + i) * n_evals + k;
                    rec[2 * at] = x[2 * i]; rec[2 * at + 1] = x[2 * i + 1];
                    rec[2 * all + at] = f[i]; rec[3 * all + at] = gn_all[i];
                }
            }
            for (int i = 0; i < n; i++) {                 /* simulate's statuses, branch-free */
                const int64_t r = b0 + i;
                const double gn = gn_all[i], px = x[2 * i], py = x[2 * i + 1];
                const int64_t finite = (fabs(px) <= DBL_MAX) & (fabs(py) <= DBL_MAX) & (fabs(f[i]) <= DBL_MAX)
                                       & (fabs(gn) <= DBL_MAX);
                const int64_t inside = (px >= lo_x) & (px <= hi_x) & (py >= lo_y) & (py <= hi_y);
                conv[r] = (gn < tol) ? conv[r] : k;       /* the last step with a large gradient, so far */
                div[r] = ((div[r] < 0) & !(finite & inside)) ? k : div[r];
            }
            int alive = 0;
            if (!rec)
                for (int i = 0; i < n; i++) alive |= div[b0 + i] < 0;
            if (k + 1 == n_evals || (!alive && !rec)) break;  /* f and gn_all keep the last evaluation */
            if (noise)
                for (int e = 0; e < m; e++) {  /* rows without noise carry 0: leave their gradient (and its -0) */
                    const double z = noise[((b0 + e / 2) * n_steps + k) * 2 + e %% 2];
                    g[e] = (z != 0.0) ? g[e] + z : g[e];
                }
            if (lrs)
                for (int e = 0; e < m; e++) H->v[H_LR][e] = lrs[(int64_t)group[b0 + e / 2] * n_steps + k];
            ov_update(kind, m, t0 + (double)(k + 1), H, x, g, buf, sum, avg, vmax, gw, tin, tout);
            if (irec)
                for (int i = 0; i < n; i++) {
                    const int64_t to = irow[b0 + i];
                    if (to < 0) continue;
                    double *out = irec + (to * n_steps + k) * OV_IREC;
                    out[0] = g[2 * i]; out[1] = g[2 * i + 1];
                    out[2] = buf[2 * i]; out[3] = buf[2 * i + 1]; out[4] = sum[2 * i]; out[5] = sum[2 * i + 1];
                    out[6] = avg[2 * i]; out[7] = avg[2 * i + 1]; out[8] = vmax[2 * i]; out[9] = vmax[2 * i + 1];
                }
        }
        for (int s = 0; s < 5; s++) memcpy(rows[s], x + s * OV_LEN, sizeof(double) * m);
        for (int i = 0; i < n; i++) { last[2 * (b0 + i)] = f[i]; last[2 * (b0 + i) + 1] = gn_all[i]; }
        for (int64_t r = b0; r < b1; r++)  /* a block stopped early has no later norms: no convergence */
            conv[r] = (conv[r] + 1 >= n_evals || (div[r] >= 0 && !rec)) ? -1 : conv[r] + 1;
        b0 = b1;
    }
    free(work);
    free(scratch);
    free(H);
}
"""


def source(surface) -> str:
    """The whole C source for ``surface``."""
    try:
        body = codegen.surface_source(surface, BLOCK + STAGGER)  # the rows' stride in its work arrays
    except codegen.Unsupported as exc:
        raise BuildError(f"surface {surface.name}: {exc}") from None
    math = loops.MATH
    return TEMPLATE % {
        "hyper_enum": ", ".join("H_" + c.upper() for c in rules.COLUMNS), "surface": body, "block": BLOCK,
        "stagger": STAGGER,
        "math_enum": ", ".join(f"OV_{m.upper()}" for m in math),
        "math_defs": "\n".join(f"OV_MATH({m}, {m.upper()})" for m in math),
        "math_libm": ", ".join(f"ov_libm_{m}" for m in math), "math_mkl": ", ".join(f"ov_mkl_{m}" for m in math),
    }
