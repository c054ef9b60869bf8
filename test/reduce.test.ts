/** The GPU tree reduction that will sum per-trajectory weight gradients (issue #4). */
import { afterAll, describe, expect, it } from 'vitest';
import { releaseGpu } from '../src/gpu/runtime.js';
import { sumRows } from '../src/gpu/reduce.js';
import { requireGpu } from './helpers/gpu.js';

afterAll(releaseGpu);

describe('column sums on the GPU', () => {
  it.for([[1, 5], [7, 3], [513, 387], [50_000, 387]] as Array<[number, number]>)('%i rows × %i columns match the f64 sum to pairwise-summation accuracy, and repeat exactly', async ([rows, cols], ctx) => {
    requireGpu(ctx);
    let seed = rows * 31 + cols;
    const u = () => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32; };
    const data = Float32Array.from({ length: rows * cols }, () => 2 * u() - 1);
    const got = await sumRows(data, rows, cols);
    let worst = 0;
    for (let c = 0; c < cols; c++) {
      let exact = 0, abs = 0;
      for (let r = 0; r < rows; r++) { exact += data[r * cols + c]!; abs += Math.abs(data[r * cols + c]!); }
      worst = Math.max(worst, Math.abs(got[c]! - exact) / abs);
    }
    // Pairwise summation in f32: error ≲ log₂(rows)·ε·Σ|x|.
    expect(worst).toBeLessThan(Math.max(1, Math.log2(rows)) * 1.2e-7);
    expect(Array.from(await sumRows(data, rows, cols))).toEqual(Array.from(got));
  });

  it('refuses a matrix larger than one storage binding with a message that says what to do', async (ctx) => {
    requireGpu(ctx);
    await expect(sumRows(new Float32Array(100_000 * 387), 100_000, 387)).rejects.toThrow(/exceed one storage binding .* reduce chunks of rows separately/);
  });
});
