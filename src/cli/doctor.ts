/** `ctwin doctor` — which WebGPU adapter and backend the engine uses, or why it falls back to CPU. */
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { acquireGpu, releaseGpu, GpuUnavailableError } from '../gpu/runtime.js';

const LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage'];

export async function doctorCommand(log: (line: string) => void): Promise<number> {
  const require = createRequire(import.meta.url);
  const version = (pkg: string) => { try { return (require(`${pkg}/package.json`) as { version: string }).version; } catch { return 'not installed'; } };
  const own = (require('../../package.json') as { version: string }).version;
  log(`condensate-twin ${own}`);
  log(`node ${process.versions.node} (${process.platform}-${process.arch}), ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
  log(`webgpu (dawn.node) ${version('webgpu')}, mathjs ${version('mathjs')}, comlink ${version('comlink')}`);
  try {
    const { info } = await acquireGpu();
    log(`GPU backend: available`);
    log(`  adapter: ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ')}`);
    log(`  backend: ${info.backend}`);
    for (const k of LIMITS) log(`  ${k}: ${info.limits[k]}`);
    log(`  features: ${info.features.join(', ')}`);
    await releaseGpu();
    return 0;
  } catch (err) {
    if (!(err instanceof GpuUnavailableError)) throw err;
    log(`GPU backend: unavailable — ${err.message}`);
    log('CPU backend (f64, worker threads) will be used: --backend auto falls back to it with a notice.');
    return 0;
  }
}
