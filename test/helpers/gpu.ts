/**
 * GPU test helper (STYLE.md §8): a GPU test never passes by returning early.
 *
 * The adapter is probed once, when a test file imports this module (top-level await). With
 * CI=true a missing adapter throws here, so the whole file fails. Without CI, every GPU test is
 * marked *skipped* by vitest with the reason (`ctx.skip(note)`), never "passed".
 */
import { it, type TestContext } from 'vitest';
import { acquireGpu, GpuUnavailableError } from '../../src/gpu/runtime.js';

async function probe(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await acquireGpu();
    return { ok: true };
  } catch (err) {
    if (err instanceof GpuUnavailableError && !process.env.CI) return { ok: false, reason: err.message };
    throw err;
  }
}

export const gpu = await probe();

/** Marks the running test as skipped, with the reason, when there is no adapter. */
export function requireGpu(ctx: TestContext): void {
  if (!gpu.ok) ctx.skip(gpu.reason);
}

/** A test that needs the GPU: skipped with the reason when there is no adapter (and failed under CI=true). */
export function itGpu(name: string, fn: (ctx: TestContext) => unknown, timeout?: number): void {
  it(name, async (ctx) => {
    requireGpu(ctx);
    await fn(ctx);
  }, timeout);
}

/** The backends a test runs on, with the GPU one skipped (with its reason) when there is no adapter. */
export const BACKENDS = ['cpu', 'gpu'] as const;
export type TestBackend = (typeof BACKENDS)[number];

/** A test per backend: `${name} on cpu` and `${name} on gpu` (the latter skipped without an adapter). */
export function itOnBackends(name: string, fn: (backend: TestBackend, ctx: TestContext) => unknown, timeout?: number): void {
  for (const backend of BACKENDS) {
    it(`${name} [${backend}]`, async (ctx) => {
      if (backend === 'gpu') requireGpu(ctx);
      await fn(backend, ctx);
    }, timeout);
  }
}
