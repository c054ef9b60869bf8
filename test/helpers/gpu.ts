/**
 * GPU test helper (STYLE.md §8): GPU tests never pass by skipping. With CI=true a missing adapter
 * fails the suite; on a developer machine without one the GPU cases are skipped with the reason.
 */
import { acquireGpu, GpuUnavailableError } from '../../src/gpu/runtime.js';

export async function gpuAvailable(): Promise<boolean> {
  try {
    await acquireGpu();
    return true;
  } catch (err) {
    if (err instanceof GpuUnavailableError && !process.env.CI) {
      console.warn(`GPU tests skipped: ${err.message}`);
      return false;
    }
    throw err;
  }
}
