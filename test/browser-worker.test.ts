/**
 * The engine in a browser Web Worker (issue 13), the same code as the Node worker: the bundle of
 * src/engine/browser-worker.ts (scripts/bundle-browser.mjs) is served to headless Chromium, a page
 * wraps the worker with comlink and runs a simulation (checked against the exact solution) and a
 * combination screen (checked against the same screen run here in Node), with progress hooks
 * called back on the page. Without Chromium it is skipped with the reason; with CI=true it fails.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { engineApi } from '../src/index.js';
import { syntheticTwin } from './helpers/twin.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const skip = !CHROMIUM && process.env.CI !== 'true';
const reason = CHROMIUM ? '' : ' (skipped: no chromium; apt-get install chromium)';

let server: Server | undefined, url = '';
let browser: import('puppeteer-core').Browser | undefined;
let page: import('puppeteer-core').Page | undefined;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (skip) return;
  const dir = mkdtempSync(join(tmpdir(), 'ctwin-browser-'));
  const { bundleBrowserEngine } = await import('../scripts/bundle-browser.mjs');
  await bundleBrowserEngine(dir);
  // The page: comlink wraps the module worker; the test drives it through window.engine.
  await build({
    stdin: { contents: "import * as Comlink from 'comlink'; window.Comlink = Comlink; window.engine = Comlink.wrap(new Worker('/ctwin-engine.js', { type: 'module' }));", resolveDir: process.cwd() },
    bundle: true, format: 'esm', outfile: join(dir, 'page.js'), logLevel: 'error',
  });
  const files: Record<string, [string, string]> = {
    '/': ['text/html', '<!doctype html><meta charset="utf-8"><title>ctwin engine</title><script type="module" src="/page.js"></script>'],
    '/page.js': ['text/javascript', readFileSync(join(dir, 'page.js'), 'utf8')],
    '/ctwin-engine.js': ['text/javascript', readFileSync(join(dir, 'ctwin-engine.js'), 'utf8')],
    '/favicon.ico': ['image/x-icon', ''],
  };
  server = createServer((req, res) => {
    const f = files[req.url ?? ''];
    res.writeHead(f ? 200 : 404, { 'content-type': f?.[0] ?? 'text/plain' }).end(f?.[1] ?? 'not found');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const { default: puppeteer } = await import('puppeteer-core');
  browser = await puppeteer.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox', '--headless=new', '--enable-unsafe-webgpu'] }); // WebGPU (SwiftShader without a GPU)
  page = await browser.newPage();
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  await page.goto(url);
  await page.waitForFunction(() => 'engine' in window);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  server?.close();
});

describe('the engine in a browser Web Worker', () => {
  it.skipIf(skip)(`simulates: x(t) = e^(−kt) to the tolerance${reason}`, async () => {
    const out = await page!.evaluate(async () => {
      const engine = (window as unknown as { engine: { simulate(job: unknown): Promise<{ y: Float64Array; status: string[]; backend: string }> } }).engine;
      const r = await engine.simulate({ spec: { name: 'decay', states: { x: 1 }, params: { k: 0.5 }, equations: { x: '-k*x' } }, problem: { t1: 2, saveat: [0, 1, 2], params: Float64Array.from([0.5, 1, 2]) }, options: { backend: 'cpu', rtol: 1e-10, atol: 1e-12 } });
      return { y: Array.from(r.y), status: r.status, backend: r.backend };
    });
    expect(out.backend).toBe('cpu');
    expect(out.status).toEqual(['success', 'success', 'success']);
    [0.5, 1, 2].forEach((k, b) => [0, 1, 2].forEach((t, s) => expect(out.y[b * 3 + s]).toBeCloseTo(Math.exp(-k * t), 9)));
    expect(pageErrors).toEqual([]);
  });

  it.skipIf(skip)(`screens a combination with progress called back on the page, as in Node${reason}`, async () => {
    const twins = [syntheticTwin('A'), syntheticTwin('B', { values: { c_sat: 0.9 } })];
    const options = { combinations: [['jq1', 'thz1']], doses: 4, samples: 3, t1: 7200, backend: 'cpu' as const, rankBy: 'ZIP' as const, methods: ['ZIP' as const, 'Bliss' as const], loewe: 'grid' as const };
    const node = await engineApi.combo(twins, options);
    const there = await page!.evaluate(async (twinsJson: string, optionsJson: string) => {
      const w = window as unknown as { engine: { combo(t: unknown, o: unknown, h: unknown): Promise<{ files: Record<string, string> }> }; Comlink: { proxy<T>(x: T): T } };
      const progress: number[] = [];
      const r = await w.engine.combo(JSON.parse(twinsJson), JSON.parse(optionsJson), w.Comlink.proxy({ progress: (_stage: string, done: number, total: number) => { progress.push(done / total); } }));
      return { files: r.files, progress };
    }, JSON.stringify(twins), JSON.stringify(options));
    expect(Object.keys(there.files)).toEqual(Object.keys(node.files));
    // The same code, but Chromium's V8 rounds Math.exp/pow differently in the last bits than
    // Node's: every field equal as text, or as a number to 1e-9 relative.
    for (const name of ['responses.csv', 'scores.csv', 'ranking.csv']) {
      const a = there.files[name]!.split('\n'), b = node.files[name]!.split('\n');
      expect(a.length, name).toBe(b.length);
      a.forEach((line, i) => line.split(',').forEach((field, j) => {
        const other = b[i]!.split(',')[j]!;
        if (field === other) return;
        expect(Math.abs(Number(field) - Number(other)), `${name}:${i + 1}:${j + 1}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(Number(other))));
      }));
    }
    expect(there.progress.at(-1)).toBe(1);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it.skipIf(skip)(`runs the f32 GPU solver on the worker's navigator.gpu: x(t) = e^(−kt) to the f32 tolerance${reason}`, async (ctx) => {
    // The page's adapter first: without one the test is skipped with the reason (failed under CI=true).
    const adapter = await page!.evaluate(async () => {
      const a = await (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string } } | null> } }).gpu?.requestAdapter();
      return a ? `${a.info?.vendor ?? ''} ${a.info?.architecture ?? ''}` : null;
    });
    if (adapter === null) {
      if (process.env.CI === 'true') throw new Error('Chromium has no WebGPU adapter (--enable-unsafe-webgpu); CI=true requires one');
      ctx.skip('this Chromium offers no WebGPU adapter (started with --enable-unsafe-webgpu)');
    }
    const out = await page!.evaluate(async () => {
      const engine = (window as unknown as { engine: { simulate(job: unknown): Promise<{ y: Float64Array; status: string[]; backend: string }> } }).engine;
      const r = await engine.simulate({ spec: { name: 'decay', states: { x: 1 }, params: { k: 0.5 }, equations: { x: '-k*x' } }, problem: { t1: 2, saveat: [0, 1, 2], params: Float64Array.from([0.5, 1, 2]) }, options: { backend: 'gpu', rtol: 1e-6, atol: 1e-8 } });
      return { y: Array.from(r.y), status: r.status, backend: r.backend };
    });
    expect(out.backend).toBe('gpu');
    expect(out.status).toEqual(['success', 'success', 'success']);
    [0.5, 1, 2].forEach((k, b) => [0, 1, 2].forEach((t, s) => expect(Math.abs(out.y[b * 3 + s]! - Math.exp(-k * t))).toBeLessThan(2e-5)));
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
