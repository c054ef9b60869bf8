/**
 * WebGPU runtime: one owner of the GPU instance, device acquisition with clear messages, error
 * scopes around everything that can fail validation, a per-device pipeline cache and buffer pool.
 *
 * Why the instance is held here for the process lifetime (WEBGPU.md): in dawn.node the object
 * returned by `create()` is the only owner of the Dawn instance. If it is garbage-collected while
 * a device made from it lives, Dawn's event pump touches freed memory — the intermittent SIGSEGV/
 * SIGABRT seen on lavapipe. Keeping a strong module-level reference removes the crash.
 */

export interface GpuInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  features: string[];
  limits: Record<string, number>;
  dawnVersion?: string;
}

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: GpuInfo;
}

/** No usable adapter; `reason` says why in words a user can act on. */
export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
}

/** A validation or out-of-memory error raised by a labelled GPU operation. */
export class GpuError extends Error {
  override name = 'GpuError';
}

/** The device was lost during a run (driver reset, the device destroyed, the GPU removed). */
export class GpuDeviceLostError extends Error {
  override name = 'GpuDeviceLostError';
  /** `during`: what was running (e.g. "the solve of lorenz"); `reason`: what the device reported. */
  constructor(readonly during: string, readonly reason: string) {
    super(`the GPU device was lost during ${during} (${reason}); nothing was written`);
  }
}

// The GPU instance (dawn.node) or navigator.gpu — held for as long as any device lives.
let instance: GPU | undefined;
let context: Promise<GpuContext> | undefined;
/** Why each device we made was lost (a device that was never lost is absent). */
const lostReasons = new WeakMap<GPUDevice, string>();

async function createInstance(): Promise<GPU> {
  if (typeof navigator !== 'undefined' && (navigator as Navigator & { gpu?: GPU }).gpu) {
    return (navigator as Navigator & { gpu: GPU }).gpu;
  }
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch (err) {
    throw new GpuUnavailableError(`the "webgpu" package could not be loaded (${(err as Error).message})`);
  }
  Object.assign(globalThis, mod.globals);
  process.env.XDG_RUNTIME_DIR ??= '/tmp'; // silences a lavapipe warning on headless machines (Node only: dawn.node)
  return mod.create([]);
}

/** The shared device, created on first use. Throws GpuUnavailableError with the reason.
 * @example
 * const { info } = await acquireGpu(); // info.description: e.g. 'llvmpipe …' or a real GPU
 */
export function acquireGpu(): Promise<GpuContext> {
  context ??= (async () => {
    instance ??= await createInstance();
    const adapter = await instance.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      throw new GpuUnavailableError(
        'no WebGPU adapter found (on Debian/Ubuntu without a GPU run `sudo bash scripts/setup-webgpu.sh` to install Mesa lavapipe)');
    }
    const want: Record<string, number> = {};
    for (const key of ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBuffersPerShaderStage'] as const) {
      want[key] = adapter.limits[key];
    }
    const device = await adapter.requestDevice({ requiredLimits: want, label: 'condensate-twin' });
    device.lost.then((info) => {
      lostReasons.set(device, `${info.reason || 'unknown'}${info.message ? `: ${info.message}` : ''}`);
      if (current === device) context = undefined; // the next acquireGpu() makes a new device; the instance stays alive
    });
    current = device;
    if (NODE_BINDING && (adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter) softwareDevices.add(device);
    device.onuncapturederror = (ev) => {
      console.error(`condensate-twin: uncaptured WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`);
    };
    const ai = adapter.info;
    const limits: Record<string, number> = {};
    for (const key in adapter.limits) limits[key] = (adapter.limits as unknown as Record<string, number>)[key]!;
    const info: GpuInfo = {
      vendor: ai.vendor, architecture: ai.architecture, device: ai.device, description: ai.description,
      backend: (ai as GPUAdapterInfo & { backend?: string }).backend ?? guessBackend(ai.description),
      features: [...adapter.features].sort(), limits,
    };
    return { device, adapter, info };
  })();
  context.catch(() => { context = undefined; });
  return context;
}

function guessBackend(description: string): string {
  return /vulkan|llvmpipe|lavapipe/i.test(description) ? 'vulkan' : 'unknown';
}

let current: GPUDevice | undefined;
/**
 * Devices of a fallback adapter (a software rasteriser such as lavapipe) under Node: they run on the
 * host's own cores, and Dawn's Node binding polls for mappings (see mapForRead). A
 * browser waits for a mapping without taking the page's thread, and a worker there has no
 * setImmediate; it keeps the plain wait.
 */
const softwareDevices = new WeakSet<GPUDevice>();
const NODE_BINDING = typeof process !== 'undefined' && typeof process.versions?.node === 'string' && typeof setImmediate === 'function';

/**
 * Why `device` was lost, or undefined if it is alive. An operation on a lost device fails before
 * `device.lost` settles, so this waits up to `graceMs` for it: call it after a GPU operation threw.
 */
export async function deviceLostReason(device: GPUDevice, graceMs = 100): Promise<string | undefined> {
  if (lostReasons.has(device)) return lostReasons.get(device);
  await Promise.race([device.lost, new Promise((r) => setTimeout(r, graceMs))]);
  return lostReasons.get(device);
}

/** Destroys the shared device (the instance stays held; see the module comment).
 * @example
 * await releaseGpu(); // the next GPU solve makes a new device
 */
export async function releaseGpu(): Promise<void> {
  const ctx = context;
  context = undefined;
  if (!ctx) return;
  try {
    const { device } = await ctx;
    pipelines.delete(device);
    pools.get(device)?.clear();
    pools.delete(device);
    device.destroy();
  } catch { /* never acquired */ }
}

/**
 * Runs `work` on `device`; if it throws and the device turns out to be lost, throws a
 * GpuDeviceLostError that says so (instead of the first operation's obscure failure).
 */
export async function failIfLost<T>(device: GPUDevice, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const reason = await deviceLostReason(device);
    if (reason === undefined) throw err;
    throw new GpuDeviceLostError(what, reason);
  }
}

/**
 * Runs `fn` inside validation and out-of-memory error scopes; any error throws a GpuError that
 * names `label`, instead of the WebGPU default of skipping the call and reading back zeros.
 */
export async function checked<T>(device: GPUDevice, label: string, fn: () => T): Promise<T> {
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T;
  try {
    result = fn();
  } finally {
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    const e = validation ?? oom;
    if (e) throw new GpuError(`${label}: ${e.message}`);
  }
  return result;
}

const pipelines = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();
/**
 * Pipelines kept per device, least recently used dropped first: a kernel with a network's weights
 * compiled in (solveOnGpu) is one pipeline per weight set, so the cache must not grow with them.
 */
const MAX_PIPELINES = 64;

/**
 * A compute pipeline for `code`, cached per device by the generated source (the only thing the
 * shader depends on). `compileMs` reports the time when this call compiled it.
 */
export async function computePipeline(
  device: GPUDevice, label: string, code: string,
): Promise<{ pipeline: GPUComputePipeline; compileMs: number }> {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, (cache = new Map()));
  const hit = cache.get(code);
  if (hit) {
    cache.delete(code);
    cache.set(code, hit); // now the most recently used
    return { pipeline: await hit, compileMs: 0 };
  }
  if (cache.size >= MAX_PIPELINES) cache.delete(cache.keys().next().value!);
  const start = performance.now();
  if (typeof process !== 'undefined' && process.env?.CTWIN_PRINT_WGSL) console.error(`// ---- ${label} ----\n${code}`);
  const promise = (async () => {
    const module = await checked(device, `shader module "${label}"`, () => device.createShaderModule({ label, code }));
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    if (errors.length) {
      throw new GpuError(`shader module "${label}": ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`);
    }
    device.pushErrorScope('validation');
    try {
      return await device.createComputePipelineAsync({ label, layout: 'auto', compute: { module, entryPoint: 'main' } });
    } catch (err) {
      throw new GpuError(`pipeline "${label}": ${(err as Error).message}`);
    } finally {
      const e = await device.popErrorScope();
      if (e) throw new GpuError(`pipeline "${label}": ${e.message}`);
    }
  })();
  cache.set(code, promise);
  promise.catch(() => cache!.delete(code));
  const pipeline = await promise;
  return { pipeline, compileMs: performance.now() - start };
}

/**
 * A buffer's size in the pool: a multiple of 256 bytes, and above 4 KiB one of four sizes per
 * octave (≤ 25 % more than asked). A fit's line search and gradients run on the rows still
 * searching, a different batch each call; with exact sizes every call allocated its tape and
 * checkpoints anew, which made GPU gradients 3× slower than at a fixed batch (issue 15).
 */
export function pooledSize(size: number): number {
  if (size <= 4096) return exactSize(size);
  const quarter = 2 ** (Math.floor(Math.log2(size)) - 2);
  return Math.ceil(size / quarter) * quarter;
}
/** The size asked for, padded to 256 bytes (at least 16). */
const exactSize = (size: number) => Math.max(16, Math.ceil(size / 256) * 256);

/** Free buffers by (size, usage), reused across solves on the same device (tfjs BufferManager). */
class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  acquire(device: GPUDevice, size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    // Never past a device limit the exact size keeps to.
    const bucket = pooledSize(size);
    const padded = bucket <= Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize) ? bucket : exactSize(size);
    const list = this.free.get(`${padded}:${usage}`);
    const buffer = list?.pop();
    if (buffer) { buffer.label = label; return buffer; }
    return device.createBuffer({ size: padded, usage, label });
  }
  release(buffer: GPUBuffer) {
    const key = `${buffer.size}:${buffer.usage}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    if (list.length < 8) list.push(buffer);
    else buffer.destroy();
  }
  clear() {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
  }
}
const pools = new WeakMap<GPUDevice, BufferPool>();
export function bufferPool(device: GPUDevice): BufferPool {
  let pool = pools.get(device);
  if (!pool) pools.set(device, (pool = new BufferPool()));
  return pool;
}

/** Copies `src` to a mappable buffer and returns its bytes (on a software device without polling: `mapForRead`). */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, size: number, label: string): Promise<ArrayBuffer> {
  const pool = bufferPool(device);
  const staging = pool.acquire(device, size, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, `${label} (readback)`);
  await checked(device, `read ${label}`, () => {
    const enc = device.createCommandEncoder({ label: `read ${label}` });
    enc.copyBufferToBuffer(src, 0, staging, 0, Math.ceil(size / 4) * 4);
    device.queue.submit([enc.finish()]);
  });
  await mapForRead(device, staging, Math.ceil(size / 4) * 4);
  const bytes = staging.getMappedRange(0, Math.ceil(size / 4) * 4).slice(0);
  staging.unmap();
  pool.release(staging);
  return bytes;
}

/**
 * Maps `staging` for reading once the work queued before it is done. A real GPU is left to Dawn's
 * own wait. On a software device that wait (the Node binding calls its event pump through
 * setImmediate until the mapping settles) takes a host core from the device's own threads for as
 * long as the work runs: a 100 000-trajectory UDE solve took 5.6 s with the main thread busy 3.5 s
 * of it (issue 15, bench/README). So here the mapping is asked for and, if it has not settled after
 * PROBE_TICKS turns of the event loop, withdrawn: `unmap()` on a pending mapping rejects it with an
 * AbortError (WebGPU § GPUBuffer.unmap), which ends the binding's polling. The next try comes after
 * a sleep of PROBE_FRACTION of the time waited so far (at least PROBE_MIN_MS), so the wait overshoots
 * the work by at most that fraction, and the host sleeps in between.
 */
async function mapForRead(device: GPUDevice, staging: GPUBuffer, bytes: number): Promise<void> {
  if (!softwareDevices.has(device)) return staging.mapAsync(GPUMapMode.READ, 0, bytes);
  const start = performance.now();
  for (;;) {
    let settled = false, error: unknown, withdrawn = false;
    const mapping = staging.mapAsync(GPUMapMode.READ, 0, bytes).then(
      () => { settled = true; },
      (err: unknown) => { settled = true; error = err; },
    );
    for (let tick = 0; tick < PROBE_TICKS && !settled; tick++) await new Promise((resolve) => setImmediate(resolve));
    if (!settled) {
      withdrawn = true;
      withdrawnMappings += 1;
      staging.unmap();
    }
    await mapping;
    if (error === undefined && !withdrawn) return;
    // A rejection we did not cause (a lost device, a destroyed buffer) is the caller's to see.
    if (error !== undefined && !(withdrawn && (error as Error).name === 'AbortError')) throw error;
    // Mapped between the last tick and unmap(): unmap() undid it; the next try settles at once.
    const waited = performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, Math.max(PROBE_MIN_MS, PROBE_FRACTION * waited)));
  }
}
/** Event-loop turns a mapping gets to settle (a finished copy maps within one); the sleep between tries. */
const PROBE_TICKS = 2, PROBE_MIN_MS = 1, PROBE_FRACTION = 0.04;
let withdrawnMappings = 0;
/** How many mappings `mapForRead` has withdrawn in this process (tests check that the path ran). */
export const withdrawnMappingCount = (): number => withdrawnMappings;
