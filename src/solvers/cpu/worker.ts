/** Worker-thread entry of the CPU backend: exposes `solveChunk` through comlink. */
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import { solveChunk, type ChunkInput } from './chunk.js';

const api = {
  solve(input: ChunkInput) {
    const out = solveChunk(input);
    return Comlink.transfer(out, [out.y.buffer, out.status.buffer, out.steps.buffer, out.rejected.buffer, out.rhsEvals.buffer]);
  },
};
export type WorkerApi = typeof api;

if (parentPort) Comlink.expose(api, nodeEndpoint(parentPort));
