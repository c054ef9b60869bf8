/** Bundles src/engine/browser-worker.ts into OUTDIR/ctwin-engine.js (see bundle-browser.mjs); resolves with its path. */
export function bundleBrowserEngine(outdir?: string): Promise<string>;
