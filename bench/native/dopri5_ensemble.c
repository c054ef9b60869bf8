/* Native C reference for bench/run.mjs: an OpenMP ensemble of DOPRI5 integrations, one trajectory
 * per loop iteration, with the same tableau, PI controller (Hairer's DOPRI5) and initial-step rule
 * as condensate-twin's kernels. Built by the bench with: cc -O3 -march=native -fopenmp -lm.
 * usage: dopri5_ensemble lorenz|condensate B  → prints one JSON line. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 3
typedef void (*rhs_t)(double t, const double *y, const double *p, double *f);

static inline void lorenz(double t, const double *y, const double *p, double *f) {
  (void)t;
  f[0] = p[0] * (y[1] - y[0]);
  f[1] = y[0] * (p[1] - y[2]) - y[1];
  f[2] = y[0] * y[1] - p[2] * y[2];
}
/* The 3-state condensate-like model of bench/run.mjs (same equations). */
static inline void condensate(double t, const double *y, const double *p, double *f) {
  (void)t;
  double c = y[0], phi = y[1], P = y[2];
  double drive = p[2] * phi * (c - p[3]);
  f[0] = p[0] - p[1] * c - drive;
  f[1] = drive * (1 - phi) - p[4] * phi + p[5];
  f[2] = p[6] * phi / (p[7] + phi) * (1 - P) - p[8] * P;
}

static const double c2 = 1. / 5, c3 = 3. / 10, c4 = 4. / 5, c5 = 8. / 9;
static const double a21 = 1. / 5, a31 = 3. / 40, a32 = 9. / 40, a41 = 44. / 45, a42 = -56. / 15, a43 = 32. / 9,
  a51 = 19372. / 6561, a52 = -25360. / 2187, a53 = 64448. / 6561, a54 = -212. / 729, a61 = 9017. / 3168,
  a62 = -355. / 33, a63 = 46732. / 5247, a64 = 49. / 176, a65 = -5103. / 18656, a71 = 35. / 384, a73 = 500. / 1113,
  a74 = 125. / 192, a75 = -2187. / 6784, a76 = 11. / 84;
static const double e1 = 71. / 57600, e3 = -71. / 16695, e4 = 71. / 1920, e5 = -17253. / 339200, e6 = 22. / 525, e7 = -1. / 40;

#define DEFINE_SOLVER(NAME, F)                                                                        \
  static long NAME##_solve(double *y, const double *p, double t0, double t1, double rtol, double atol) { \
    double k1[N], k2[N], k3[N], k4[N], k5[N], k6[N], k7[N], u[N], yn[N];                             \
    double t = t0, facold = 1e-4, h;                                                                  \
    long steps = 0;                                                                                   \
    F(t, y, p, k1);                                                                                   \
    { /* Hairer's initial step */                                                                     \
      double dnf = 0, dny = 0, der2 = 0;                                                              \
      for (int i = 0; i < N; i++) { double sk = atol + rtol * fabs(y[i]); dnf += (k1[i] / sk) * (k1[i] / sk); dny += (y[i] / sk) * (y[i] / sk); } \
      dnf /= N; dny /= N;                                                                             \
      h = (dnf <= 1e-10 || dny <= 1e-10) ? 1e-6 : sqrt(dny / dnf) * 0.01;                             \
      h = fmin(h, t1 - t0);                                                                           \
      for (int i = 0; i < N; i++) u[i] = y[i] + h * k1[i];                                            \
      F(t + h, u, p, k2);                                                                             \
      for (int i = 0; i < N; i++) { double sk = atol + rtol * fabs(y[i]); der2 += ((k2[i] - k1[i]) / sk) * ((k2[i] - k1[i]) / sk); } \
      der2 = sqrt(der2 / N) / h;                                                                      \
      double der12 = fmax(fabs(der2), sqrt(dnf));                                                     \
      double h1 = der12 <= 1e-15 ? fmax(1e-6, h * 1e-3) : pow(0.01 / der12, 1. / 5);                  \
      h = fmin(fmin(100 * h, h1), t1 - t0);                                                           \
    }                                                                                                 \
    int last_rejected = 0;                                                                            \
    while (t1 - t > 1e-12 * fabs(t1)) {                                                               \
      double hs = (t1 - t <= h * (1 + 1e-6)) ? t1 - t : h;                                            \
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
      double err = 0;                                                                                 \
      for (int i = 0; i < N; i++) {                                                                   \
        double e = hs * (e1 * k1[i] + e3 * k3[i] + e4 * k4[i] + e5 * k5[i] + e6 * k6[i] + e7 * k7[i]); \
        double sk = atol + rtol * fmax(fabs(y[i]), fabs(yn[i]));                                      \
        err += (e / sk) * (e / sk);                                                                   \
      }                                                                                               \
      err = sqrt(err / N);                                                                            \
      double fac11 = pow(err, 0.2 - 0.04 * 0.75);                                                     \
      if (err <= 1) {                                                                                 \
        double fac = fmax(0.1, fmin(5.0, fac11 / pow(facold, 0.04) / 0.9));                           \
        double hn = hs / fac;                                                                         \
        if (last_rejected) hn = fmin(hn, hs);                                                         \
        facold = fmax(err, 1e-4);                                                                     \
        t += hs; memcpy(y, yn, sizeof yn); memcpy(k1, k7, sizeof k7);                                 \
        h = hn; last_rejected = 0; steps++;                                                           \
      } else {                                                                                        \
        h = hs / fmin(5.0, fac11 / 0.9); last_rejected = 1;                                           \
      }                                                                                               \
    }                                                                                                 \
    return steps;                                                                                     \
  }
DEFINE_SOLVER(lorenz, lorenz)
DEFINE_SOLVER(condensate, condensate)

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: %s lorenz|condensate B\n", argv[0]); return 2; }
  int lor = strcmp(argv[1], "lorenz") == 0;
  long B = atol(argv[2]);
  double p_l[3] = {10, 28, 8. / 3}, y_l[3] = {1, 0, 0}, t1_l = 10;
  double p_c[9] = {1, 0.1, 2, 5, 0.05, 0.001, 1, 0.2, 0.3}, y_c[3] = {8, 0.01, 0}, t1_c = 100;
  double *out = malloc(sizeof(double) * B * N);
  long total_steps = 0;
  double start = omp_get_wtime();
#pragma omp parallel for schedule(dynamic, 256) reduction(+ : total_steps)
  for (long b = 0; b < B; b++) {
    double y[N];
    memcpy(y, lor ? y_l : y_c, sizeof y);
    total_steps += lor ? lorenz_solve(y, p_l, 0, t1_l, 1e-6, 1e-8) : condensate_solve(y, p_c, 0, t1_c, 1e-6, 1e-8);
    memcpy(out + b * N, y, sizeof y);
  }
  double secs = omp_get_wtime() - start;
  printf("{\"model\":\"%s\",\"backend\":\"native-c\",\"batch\":%ld,\"seconds\":%.4f,\"traj_per_s\":%.1f,"
         "\"traj_steps_per_s\":%.1f,\"steps_per_traj\":%.1f,\"threads\":%d,\"y0\":[%.9g,%.9g,%.9g]}\n",
         argv[1], B, secs, B / secs, total_steps / secs, (double)total_steps / B, omp_get_max_threads(), out[0], out[1], out[2]);
  free(out);
  return 0;
}
