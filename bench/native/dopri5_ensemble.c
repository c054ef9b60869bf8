/* Native C reference for bench/run.mjs: an OpenMP ensemble of DOPRI5 integrations, one trajectory
 * per loop iteration, with the same tableau, PI controller (Hairer's DOPRI5) and initial-step rule
 * as condensate-twin's kernels. Built by the bench with: cc -O3 -march=native -fopenmp -lm.
 * usage: dopri5_ensemble lorenz|condensate B
 *        dopri5_ensemble ude B weights.txt   (the UDE's MLP weights θ, one number per line)
 * → prints one JSON line. */
#include <tgmath.h> /* fabs, tanh, pow… follow the type of `real` */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef REAL
#define REAL double
#endif
/* Built twice by the bench: f64 (default) and f32 (-DREAL=float -fsingle-precision-constant), the
 * precision of the GPU path. */
typedef REAL real;

#define N 3
typedef void (*rhs_t)(real t, const real *y, const real *p, real *f);

static inline void lorenz(real t, const real *y, const real *p, real *f) {
  (void)t;
  f[0] = p[0] * (y[1] - y[0]);
  f[1] = y[0] * (p[1] - y[2]) - y[1];
  f[2] = y[0] * y[1] - p[2] * y[2];
}
/* The 3-state condensate-like model of bench/run.mjs (same equations). */
static inline void condensate(real t, const real *y, const real *p, real *f) {
  (void)t;
  real c = y[0], phi = y[1], P = y[2];
  real drive = p[2] * phi * (c - p[3]);
  f[0] = p[0] - p[1] * c - drive;
  f[1] = drive * (1 - phi) - p[4] * phi + p[5];
  f[2] = p[6] * phi / (p[7] + phi) * (1 - P) - p[8] * P;
}

/* The default condensate model without RNA (src/physics/condensate.ts, default parameters) plus the
 * 3→16→16→3 tanh MLP of condensateModel({ rna: false, neural: true }): same equations, same weights
 * layout (W_l row-major then b_l per layer), outputs scaled by 1e-4, 1e-6, 1e-3. */
#define H 16
static real W1[H][3], b1[H], W2[H][H], b2[H], W3[3][H], b3[3];
static inline void ude(real t, const real *y, const real *p, real *f) {
  (void)t; (void)p;
  const real c_sat = 0.8, K_p = 100, k_phi = 0.05, phi_nuc = 1e-4, phi_max = 0.05, k_syn = 1.925e-4,
               k_deg = 1.925e-4, k_rec = 0.2, K_phi = 0.005, k_esc = 0.1, k_term = 0.067;
  real c = y[0], phi = y[1], P = y[2];
  real s = c / c_sat - 1;
  real growth = k_phi * (s * phi + phi_nuc * fmax(s, 0)) * (1 - phi / phi_max);
  real T = c * (1 - phi + K_p * phi);
  real a1[H], a2[H], g[3];
  for (int i = 0; i < H; i++) a1[i] = tanh(W1[i][0] * c + W1[i][1] * phi + W1[i][2] * P + b1[i]);
  for (int i = 0; i < H; i++) { real z = b2[i]; for (int j = 0; j < H; j++) z += W2[i][j] * a1[j]; a2[i] = tanh(z); }
  for (int i = 0; i < 3; i++) { real z = b3[i]; for (int j = 0; j < H; j++) z += W3[i][j] * a2[j]; g[i] = z; }
  f[0] = (k_syn - k_deg * T - c * (K_p - 1) * growth) / (1 - phi + K_p * phi) + 1e-4 * g[0];
  f[1] = growth + 1e-6 * g[1];
  f[2] = k_rec * phi / (K_phi + phi) * (1 - P) - (k_esc + k_term) * P + 1e-3 * g[2];
}
static void read_weights(const char *path) {
  FILE *fp = fopen(path, "r");
  if (!fp) { fprintf(stderr, "cannot open %s\n", path); exit(2); }
  real *dst[] = {&W1[0][0], b1, &W2[0][0], b2, &W3[0][0], b3};
  int len[] = {3 * H, H, H * H, H, 3 * H, 3};
  for (int k = 0; k < 6; k++)
    for (int i = 0; i < len[k]; i++) {
      double w;
      if (fscanf(fp, "%lf", &w) != 1) { fprintf(stderr, "%s: too few weights\n", path); exit(2); }
      dst[k][i] = (real)w;
    }
  fclose(fp);
}

static const real c2 = 1. / 5, c3 = 3. / 10, c4 = 4. / 5, c5 = 8. / 9;
static const real a21 = 1. / 5, a31 = 3. / 40, a32 = 9. / 40, a41 = 44. / 45, a42 = -56. / 15, a43 = 32. / 9,
  a51 = 19372. / 6561, a52 = -25360. / 2187, a53 = 64448. / 6561, a54 = -212. / 729, a61 = 9017. / 3168,
  a62 = -355. / 33, a63 = 46732. / 5247, a64 = 49. / 176, a65 = -5103. / 18656, a71 = 35. / 384, a73 = 500. / 1113,
  a74 = 125. / 192, a75 = -2187. / 6784, a76 = 11. / 84;
static const real e1 = 71. / 57600, e3 = -71. / 16695, e4 = 71. / 1920, e5 = -17253. / 339200, e6 = 22. / 525, e7 = -1. / 40;

#define DEFINE_SOLVER(NAME, F)                                                                        \
  static long NAME##_solve(real *y, const real *p, real t0, real t1, real rtol, real atol, long *nfev) { \
    real k1[N], k2[N], k3[N], k4[N], k5[N], k6[N], k7[N], u[N], yn[N];                             \
    real t = t0, facold = 1e-4, h;                                                                  \
    long steps = 0;                                                                                   \
    F(t, y, p, k1);                                                                                   \
    { /* Hairer's initial step */                                                                     \
      real dnf = 0, dny = 0, der2 = 0;                                                              \
      for (int i = 0; i < N; i++) { real sk = atol + rtol * fabs(y[i]); dnf += (k1[i] / sk) * (k1[i] / sk); dny += (y[i] / sk) * (y[i] / sk); } \
      dnf /= N; dny /= N;                                                                             \
      h = (dnf <= 1e-10 || dny <= 1e-10) ? 1e-6 : sqrt(dny / dnf) * 0.01;                             \
      h = fmin(h, t1 - t0);                                                                           \
      for (int i = 0; i < N; i++) u[i] = y[i] + h * k1[i];                                            \
      F(t + h, u, p, k2);                                                                             \
      for (int i = 0; i < N; i++) { real sk = atol + rtol * fabs(y[i]); der2 += ((k2[i] - k1[i]) / sk) * ((k2[i] - k1[i]) / sk); } \
      der2 = sqrt(der2 / N) / h;                                                                      \
      real der12 = fmax(fabs(der2), sqrt(dnf));                                                     \
      real h1 = der12 <= 1e-15 ? fmax(1e-6, h * 1e-3) : pow(0.01 / der12, 1. / 5);                  \
      h = fmin(fmin(100 * h, h1), t1 - t0);                                                           \
    }                                                                                                 \
    int last_rejected = 0;                                                                            \
    while (t1 - t > 1e-12 * fabs(t1)) {                                                               \
      real hs = (t1 - t <= h * (1 + 1e-6)) ? t1 - t : h;                                            \
      for (int i = 0; i < N; i++) u[i] = y[i] + hs * a21 * k1[i];                                     \
      F(t + c2 * hs, u, p, k2);                                                                       \
      for (int i = 0; i < N; i++) u[i] = y[i] + hs * (a31 * k1[i] + a32 * k2[i]);                     \
      F(t + c3 * hs, u, p, k3);                                                                       \
      for (int i = 0; i < N; i++) u[i] = y[i] + hs * (a41 * k1[i] + a42 * k2[i] + a43 * k3[i]);       \
      F(t + c4 * hs, u, p, k4);                                                                       \
      for (int i = 0; i < N; i++) u[i] = y[i] + hs * (a51 * k1[i] + a52 * k2[i] + a53 * k3[i] + a54 * k4[i]); \
      F(t + c5 * hs, u, p, k5);                                                                       \
      for (int i = 0; i < N; i++) u[i] = y[i] + hs * (a61 * k1[i] + a62 * k2[i] + a63 * k3[i] + a64 * k4[i] + a65 * k5[i]); \
      F(t + hs, u, p, k6);                                                                            \
      for (int i = 0; i < N; i++) yn[i] = y[i] + hs * (a71 * k1[i] + a73 * k3[i] + a74 * k4[i] + a75 * k5[i] + a76 * k6[i]); \
      F(t + hs, yn, p, k7);                                                                           \
      real err = 0;                                                                                 \
      for (int i = 0; i < N; i++) {                                                                   \
        real e = hs * (e1 * k1[i] + e3 * k3[i] + e4 * k4[i] + e5 * k5[i] + e6 * k6[i] + e7 * k7[i]); \
        real sk = atol + rtol * fmax(fabs(y[i]), fabs(yn[i]));                                      \
        err += (e / sk) * (e / sk);                                                                   \
      }                                                                                               \
      err = sqrt(err / N);                                                                            \
      real fac11 = pow(err, 0.2 - 0.04 * 0.75);                                                     \
      if (err <= 1) {                                                                                 \
        real fac = fmax(0.1, fmin(5.0, fac11 / pow(facold, 0.04) / 0.9));                           \
        real hn = hs / fac;                                                                         \
        if (last_rejected) hn = fmin(hn, hs);                                                         \
        facold = fmax(err, 1e-4);                                                                     \
        t += hs; memcpy(y, yn, sizeof yn); memcpy(k1, k7, sizeof k7);                                 \
        h = hn; last_rejected = 0; steps++;                                                           \
      } else {                                                                                        \
        h = hs / fmin(5.0, fac11 / 0.9); last_rejected = 1;                                           \
      }                                                                                               \
      *nfev += 6;                                                                                     \
    }                                                                                                 \
    *nfev += 2;                                                                                       \
    return steps;                                                                                     \
  }
DEFINE_SOLVER(lorenz, lorenz)
DEFINE_SOLVER(condensate, condensate)
DEFINE_SOLVER(ude, ude)

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s lorenz|condensate|ude B [weights.txt]\n", argv[0]); return 2; }
  int model = strcmp(argv[1], "lorenz") == 0 ? 0 : strcmp(argv[1], "condensate") == 0 ? 1 : 2;
  long B = atol(argv[2]);
  if (model == 2) {
    if (argc < 4) { fprintf(stderr, "ude needs the weights file\n"); return 2; }
    read_weights(argv[3]);
  }
  real p_l[3] = {10, 28, 8. / 3}, y_l[3] = {1, 0, 0}, t1_l = 10;
  real p_c[9] = {1, 0.1, 2, 5, 0.05, 0.001, 1, 0.2, 0.3}, y_c[3] = {8, 0.01, 0}, t1_c = 100;
  real y_u[3] = {1, 0, 0}, t1_u = 600;
  real *out = malloc(sizeof(real) * B * N);
  long total_steps = 0, total_nfev = 0;
  double start = omp_get_wtime();
#pragma omp parallel for schedule(dynamic, 256) reduction(+ : total_steps, total_nfev)
  for (long b = 0; b < B; b++) {
    real y[N];
    long nfev = 0;
    memcpy(y, model == 0 ? y_l : model == 1 ? y_c : y_u, sizeof y);
    total_steps += model == 0 ? lorenz_solve(y, p_l, 0, t1_l, 1e-6, 1e-8, &nfev)
                 : model == 1 ? condensate_solve(y, p_c, 0, t1_c, 1e-6, 1e-8, &nfev)
                              : ude_solve(y, NULL, 0, t1_u, 1e-6, 1e-8, &nfev);
    total_nfev += nfev;
    memcpy(out + b * N, y, sizeof y);
  }
  double secs = omp_get_wtime() - start;
  printf("{\"model\":\"%s\",\"backend\":\"native-c-%s\",\"batch\":%ld,\"seconds\":%.4f,\"traj_per_s\":%.1f,"
         "\"traj_steps_per_s\":%.1f,\"steps_per_traj\":%.1f,\"rhs_evals\":%ld,\"threads\":%d,\"y0\":[%.9g,%.9g,%.9g]}\n",
         argv[1], sizeof(real) == 4 ? "f32" : "f64", B, secs, B / secs, total_steps / secs, (double)total_steps / B, total_nfev, omp_get_max_threads(), (double)out[0], (double)out[1], (double)out[2]);
  free(out);
  return 0;
}
