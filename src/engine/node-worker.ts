/** Node worker-thread entry of the engine: exposes `engineApi` through comlink (see ./client.ts). */
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { engineApi } from './engine.js';

if (parentPort) Comlink.expose(engineApi, nodeEndpoint(parentPort));
