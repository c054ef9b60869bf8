/** `ctwin doctor` — which WebGPU adapter and backend the engine uses, or why it falls back to CPU. */
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import { acquireGpu, releaseGpu, GpuUnavailableError, type GpuInfo } from '../gpu/runtime.js';

const LIMITS = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension',
  'maxComputeInvocationsPerWorkgroup', 'maxStorageBuffersPerShaderStage'];

/** A software rasteriser (Mesa's lavapipe/llvmpipe, SwiftShader): WebGPU works, but not fast. */
const isSoftware = (info: GpuInfo) => /llvmpipe|lavapipe|swiftshader|software/i.test([info.vendor, info.architecture, info.device, info.description].join(' '));

export async function doctorCommand(print: (line: string) => void, json = false): Promise<number> {
  const require = createRequire(import.meta.url);
  const version = (pkg: string) => { try { return (require(`${pkg}/package.json`) as { version: string }).version; } catch { return null; } };
  const report: Record<string, unknown> = {
    version: (require('../../package.json') as { version: string }).version,
    node: process.versions.node, platform: `${process.platform}-${process.arch}`, cores: cpus().length, memory_gib: Number((totalmem() / 2 ** 30).toFixed(1)),
    packages: { webgpu: version('webgpu'), mathjs: version('mathjs'), comlink: version('comlink') },
  };
  try {
    const { info } = await acquireGpu();
    report.gpu = { available: true, software: isSoftware(info), adapter: [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / '), backend: info.backend, limits: Object.fromEntries(LIMITS.map((k) => [k, info.limits[k]])), features: info.features };
    await releaseGpu();
  } catch (err) {
    if (!(err instanceof GpuUnavailableError)) throw err;
    report.gpu = { available: false, reason: err.message };
  }
  if (json) { print(JSON.stringify(report, null, 2)); return 0; }
  const gpu = report.gpu as { available: boolean; software?: boolean; adapter?: string; backend?: string; limits?: Record<string, number>; features?: string[]; reason?: string };
  const pkgs = report.packages as Record<string, string | null>;
  print(`condensate-twin ${report.version}`);
  print(`node ${report.node} (${report.platform}), ${report.cores} cores, ${report.memory_gib} GiB`);
  print(`webgpu (dawn.node) ${pkgs.webgpu ?? 'not installed'}, mathjs ${pkgs.mathjs}, comlink ${pkgs.comlink}`);
  if (gpu.available) {
    print(`GPU backend: available${gpu.software ? ' (a software rasteriser: correct, but usually slower than --backend cpu)' : ''}`);
    print(`  adapter: ${gpu.adapter}`);
    print(`  backend: ${gpu.backend}`);
    for (const k of LIMITS) print(`  ${k}: ${gpu.limits![k]}`);
    print(`  features: ${gpu.features!.join(', ')}`);
  } else {
    print(`GPU backend: unavailable — ${gpu.reason}`);
    print('CPU backend (f64, worker threads) will be used: --backend auto falls back to it with a notice.');
  }
  return 0;
}
