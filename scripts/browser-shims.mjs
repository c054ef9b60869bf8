// What the engine's Node imports become in the browser bundle (scripts/bundle-browser.mjs). The
// engine's browser path needs none of them to do its work: its jobs take and return data, the CPU
// backend runs in the Web Worker's own thread (no worker pool) and the GPU is navigator.gpu. File
// access is refused with a message that says what to do instead; sha256 (provenance, twin hashes)
// is @noble/hashes' synchronous SHA-256.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

const noFiles = (what) => () => { throw new Error(`${what}: there is no file system in a browser; pass the data itself (records, twin objects, spec objects) to the engine`); };
export const readFileSync = noFiles('readFileSync'), readdirSync = noFiles('readdirSync'), statSync = noFiles('statSync');
export const openSync = noFiles('openSync'), writeSync = noFiles('writeSync'), fsyncSync = noFiles('fsyncSync'), closeSync = noFiles('closeSync');
export const renameSync = noFiles('renameSync'), rmSync = noFiles('rmSync'), mkdirSync = noFiles('mkdirSync'), writeFileSync = noFiles('writeFileSync');
export const existsSync = () => false; // no compiled worker scripts: the CPU backend runs in this thread

export const join = (...parts) => parts.filter(Boolean).join('/').replace(/\/+/g, '/');
export const dirname = (p) => p.replace(/\/[^/]*$/, '') || '.';
export const basename = (p) => p.replace(/^.*\//, '');
export const relative = (_from, to) => to;
export const fileURLToPath = (u) => String(u);

export const cpus = () => Array.from({ length: globalThis.navigator?.hardwareConcurrency ?? 1 }, () => ({}));

/** `require('../../package.json')` is the only use: the engine's version, fixed at bundle time. */
export const createRequire = () => (id) => {
  if (id.endsWith('package.json')) return { version: __CTWIN_VERSION__ };
  throw new Error(`require(${id}) is not available in the browser bundle`);
};

export class Worker { constructor() { throw new Error('node:worker_threads is not available in a browser'); } }
export const parentPort = undefined;

export function createHash(algorithm) {
  if (algorithm !== 'sha256') throw new Error(`createHash(${algorithm}): only sha256 in the browser bundle`);
  const chunks = [];
  const hash = {
    update(data) { chunks.push(typeof data === 'string' ? utf8ToBytes(data) : data); return hash; },
    digest(encoding) {
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) { all.set(c, at); at += c.length; }
      const out = sha256(all);
      return encoding === 'hex' ? bytesToHex(out) : out;
    },
  };
  return hash;
}
