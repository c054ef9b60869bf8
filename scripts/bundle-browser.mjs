// Bundles the engine's Web Worker (src/engine/browser-worker.ts) for browsers: one ES module with
// mathjs, comlink and the engine, Node built-ins replaced by scripts/browser-shims.mjs.
//
//   node scripts/bundle-browser.mjs [--outdir dist-browser]     → dist-browser/ctwin-engine.js
//
// On a page: const engine = Comlink.wrap(new Worker('ctwin-engine.js', { type: 'module' }));
//            await engine.simulate({ spec, problem: { t1: 10 } });
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const { values } = parseArgs({ options: { outdir: { type: 'string', default: 'dist-browser' } } });
const root = new URL('..', import.meta.url).pathname;
const version = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
const shims = new URL('./browser-shims.mjs', import.meta.url).pathname;

/** Every `node:*` import resolves to the shims module. */
const nodeShims = {
  name: 'node-shims',
  setup(b) { b.onResolve({ filter: /^node:/ }, () => ({ path: shims })); },
};

export async function bundleBrowserEngine(outdir = values.outdir) {
  await build({
    entryPoints: { 'ctwin-engine': `${root}src/engine/browser-worker.ts` },
    outdir, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: false,
    plugins: [nodeShims], define: { __CTWIN_VERSION__: JSON.stringify(version) },
    // The Node WebGPU addon: never loaded where navigator.gpu exists (src/gpu/runtime.ts).
    external: ['webgpu'], logLevel: 'error',
    // csv-parse (reached through the file readers the engine's modules also export) builds its BOM
    // table with Buffer.from at load time; the engine never parses CSV in the browser.
    banner: { js: 'globalThis.Buffer ??= { from: (bytes) => Uint8Array.from(bytes), isBuffer: () => false };' },
  });
  return `${outdir}/ctwin-engine.js`;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await bundleBrowserEngine());
