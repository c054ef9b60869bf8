/** Worker-thread entry for gradients: exposes `gradientCpu` through comlink (see gradient()). */
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { gradientCpu } from './adjoint.js';

const api = { gradient: gradientCpu };
export type GradientWorkerApi = typeof api;

if (parentPort) Comlink.expose(api, nodeEndpoint(parentPort));
