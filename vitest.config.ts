import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One process per test file: each holds its own WebGPU instance for its lifetime (WEBGPU.md).
    pool: 'forks',
    // At least two files at once, even on two cores (where vitest would run one): many tests
    // wait on a CLI process they started, a GPU readback or one JS thread, and two files fill
    // those gaps. On this project's 2-core machine, back to back in one checkout: 686 s one at a
    // time, 581 s two at a time (with twice the hypervisor's steal: 21 % against 10 %).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
