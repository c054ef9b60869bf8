import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One process per test file: each holds its own WebGPU instance for its lifetime (WEBGPU.md).
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 60_000,
  },
});
