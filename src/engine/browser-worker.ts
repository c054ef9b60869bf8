/**
 * Browser Web Worker entry of the engine: the same `engineApi` as the Node worker, exposed on the
 * worker's global scope. Bundle it for the browser (`node scripts/bundle-browser.mjs`) and, on the
 * page: `const engine = Comlink.wrap(new Worker('ctwin-engine.js', { type: 'module' }))`.
 */
import * as Comlink from 'comlink';
import { engineApi } from './engine.js';

Comlink.expose(engineApi);
