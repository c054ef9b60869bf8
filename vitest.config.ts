import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One process per test file: each holds its own WebGPU instance for its lifetime (WEBGPU.md).
    pool: 'forks',
    // At least two files at once, even on two cores (where vitest would run one): many tests
    // wait on a CLI process they started, a GPU readback or one JS thread, and two files fill
    // those gaps. Fresh-clone suite on this project's 2-core machine: 625 s one at a time,
    // 407 s two at a time.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
