/* Times a loop body of llvmpipe's code natively (bench/mca-loop.py --harness writes it; see its
 * docstring): CPU cycles per trip at the nominal clock (the "@ x.xxGHz" of the model name, else
 * CLOCK_GHZ, default 2.5), median of 5 runs. Flush-to-zero and denormals-are-zero are set, as
 * llvmpipe sets them for its shaders.
 * usage: loop_harness [trips per run, default 200000] */
#include <pmmintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xmmintrin.h>

void llvmpipe_loop(long trips);

static double clock_ghz(void) {
  const char *env = getenv("CLOCK_GHZ");
  if (env) return atof(env);
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[512];
  double ghz = 2.5;
  while (f && fgets(line, sizeof line, f)) {
    char *at = strstr(line, "@ ");
    if (strncmp(line, "model name", 10) == 0 && at) { ghz = atof(at + 2); break; }
  }
  if (f) fclose(f);
  return ghz;
}

static int by_value(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
  long trips = argc > 1 ? atol(argv[1]) : 200000;
  _MM_SET_FLUSH_ZERO_MODE(_MM_FLUSH_ZERO_ON);
  _MM_SET_DENORMALS_ZERO_MODE(_MM_DENORMALS_ZERO_ON);
  double ghz = clock_ghz(), cycles[5];
  llvmpipe_loop(trips / 10); /* warm-up */
  for (int r = 0; r < 5; r++) {
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    llvmpipe_loop(trips);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    cycles[r] = ((c1.tv_sec - c0.tv_sec) + 1e-9 * (c1.tv_nsec - c0.tv_nsec)) * ghz * 1e9 / trips;
  }
  qsort(cycles, 5, sizeof cycles[0], by_value);
  printf("{\"cpu_cycles_per_trip\": %.1f, \"min\": %.1f, \"max\": %.1f, \"ghz\": %g, \"trips\": %ld}\n", cycles[2], cycles[0], cycles[4], ghz, trips);
  return 0;
}
