# The rational tanh of the neural term's WGSL (src/codegen/neural.ts, NN_TANH_WGSL): how its
# coefficients were found, and its error in f32. Run: python3 scripts/fit-nn-tanh.py (numpy).
#
# tanh x ≈ x·P(x²)/Q(x²) on |x| ≤ 9 (P of degree 4, Q of degree 4 with Q(0) = 1), fitted by
# Lawson's iteratively reweighted least squares on the linearised residual x·P − tanh(x)·Q
# (weights 1/Q of the previous iterate, then multiplied by |error| each round), 6000 points on
# (0, 9]. Outside |x| ≤ 9, u = x² is limited to 81: the quotient passes ±1 there and the final clamp
# gives ±1, and 1 − tanh 9 = 3.0e-8, below half an f32 ulp of 1.
import numpy as np

def fit(n_p, n_q, c, iters=60):
    x = np.linspace(1e-4, c, 6000)
    f, u = np.tanh(x), x * x
    w, q_prev, best = np.ones_like(x), np.ones_like(x), None
    for _ in range(iters):
        A = np.concatenate([np.stack([x * u**k for k in range(n_p)], 1),
                            np.stack([-f * u**k for k in range(1, n_q + 1)], 1)], 1)
        W = (w / q_prev)[:, None]
        sol, *_ = np.linalg.lstsq(A * W, f * W[:, 0], rcond=None)
        p, q = sol[:n_p], np.concatenate([[1.0], sol[n_p:]])
        Q = sum(q[k] * u**k for k in range(n_q + 1))
        err = x * sum(p[k] * u**k for k in range(n_p)) / Q - f
        if best is None or np.max(np.abs(err)) < best[0]:
            best = (np.max(np.abs(err)), p.copy(), q.copy())
        w = np.maximum(w * np.abs(err) / np.mean(w * np.abs(err)), 1e-12)
        q_prev = Q
    return best

def estrin4(c, u, u2):
    """c0 + c1 u + c2 u² + c3 u³ + c4 u⁴ in Estrin's form, grouped as the WGSL groups it."""
    c = [np.float32(v) for v in c]
    return (c[0] + u * c[1]) + u2 * ((c[2] + u * c[3]) + u2 * c[4])

def eval_f32(p, q, c, xs):
    """In f32, as the WGSL does: u = min(x², c²), x·P(u)/Q(u) in Estrin's form, clamped to [−1, 1]."""
    x = xs.astype(np.float32)
    with np.errstate(over='ignore', invalid='ignore'):
        u = np.minimum(x * x, np.float32(c * c))
        u2 = u * u
        return np.clip((x * estrin4(p, u, u2)) / estrin4(q, u, u2), np.float32(-1), np.float32(1))

best, p, q = fit(5, 4, 9.0)
print(f'f64 fit: max |error| {best:.2e} on [0, 9]')
print('P:', ', '.join(repr(float(v)) for v in p))
print('Q:', ', '.join(repr(float(v)) for v in q))
xs = np.linspace(-20, 20, 4_000_001)
y = eval_f32(p, q, 9.0, xs).astype(np.float64)
print(f'f32: max |error| {np.max(np.abs(y - np.tanh(xs))):.2e} on [-20, 20]')
far = np.array([9.0001, 100.0, 1e10, 3.4e38, np.inf])
print('f32 at ±(9.0001, 100, 1e10, 3.4e38, inf):', eval_f32(p, q, 9.0, np.concatenate([far, -far])).tolist())
