/**
 * Trajectories to files, in chunks as they come off the solver, so memory is bounded by a chunk
 * and not by the batch: CSV (traj,t,<states>), Apache Arrow IPC (`.arrow`, `.feather`, `.ipc`: the
 * file format pandas `read_feather`, polars `read_ipc`, R arrow and DuckDB read) or Parquet
 * (`.parquet`), chosen by the file's extension. Every format is the same long table: one row per
 * trajectory and save time, columns traj (int32), t (float64) and one per state in model order —
 * float32 from the GPU backend (the values it computed, no digits invented), float64 from the CPU.
 * Files are written under a temporary name and renamed when complete: a failed or interrupted run
 * leaves no half-written file. `status.csv` (traj,status,steps,rejected) is written once, at the end.
 */
import { closeSync, createWriteStream, fsyncSync, openSync, renameSync, rmSync, write } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { Field, Float32, Float64, Int32, RecordBatch, RecordBatchFileWriter, Schema, Struct, makeData } from 'apache-arrow';
import { ParquetWriter, fileWriter } from 'hyparquet-writer';
import { writeFileAtomic } from './csv.js';
import { writeAscii, writeF32, writeUint } from './ascii.js';
import type { Model } from '../physics/model.js';
import { statusName } from '../methods/status.js';
import type { Solution } from '../solvers/solution.js';

export type TrajectoryFormat = 'csv' | 'arrow' | 'parquet';

/**
 * The format a path's extension asks for (anything but .arrow/.feather/.ipc/.parquet is CSV).
 * @example
 * trajectoryFormat('runs/traj.parquet'); // 'parquet'
 */
export function trajectoryFormat(path: string): TrajectoryFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet') return 'parquet';
  if (ext === '.arrow' || ext === '.feather' || ext === '.ipc') return 'arrow';
  return 'csv';
}

/** One chunk of a solve: trajectories start … start + count − 1, their states count × saves × N. */
export interface TrajectoryChunk {
  start: number;
  count: number;
  y: Float64Array;
}

/** Where chunks go: `write` them in order, then `close` (the file appears) or `abort` (nothing is left). */
export interface TrajectorySink {
  readonly format: TrajectoryFormat;
  write(chunk: TrajectoryChunk): Promise<void>;
  close(): Promise<void>;
  abort(): void;
}

/**
 * Opens `path` for trajectories of `model` saved at `saveat`; `precision` 'f32' for GPU results.
 * @example
 * const sink = openTrajectories('traj.parquet', model, problem.saveat, 'f32');
 * await sink.write({ start: 0, count: sol.batch, y: sol.y });
 * await sink.close();
 */
export function openTrajectories(path: string, model: Model, saveat: ArrayLike<number>, precision: 'f32' | 'f64'): TrajectorySink {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const names = model.states.map((s) => s.name);
  const format = trajectoryFormat(path);
  const sink = format === 'csv' ? csvSink(tmp, names, saveat, precision)
    : format === 'arrow' ? arrowSink(tmp, names, saveat, precision) : parquetSink(tmp, names, saveat, precision);
  let done = false;
  return {
    format,
    write: (chunk) => sink.write(chunk),
    close: async () => { await sink.close(); renameSync(tmp, path); done = true; },
    abort: () => { if (done) return; done = true; try { sink.abort(); } finally { rmSync(tmp, { force: true }); } },
  };
}

/**
 * Writes a whole solution (one chunk) to `path` in the format its extension names.
 * @example
 * await writeTrajectories('traj.csv', model, sol); // traj,t,<states>
 */
export async function writeTrajectories(path: string, model: Model, sol: Solution): Promise<void> {
  const sink = openTrajectories(path, model, sol.t, sol.backend === 'gpu' ? 'f32' : 'f64');
  try {
    await sink.write({ start: 0, count: sol.batch, y: sol.y });
    await sink.close();
  } catch (err) {
    sink.abort();
    throw err;
  }
}

type RawSink = Omit<TrajectorySink, 'format'>;

/** Bytes of each of the CSV writer's two buffers. */
const CSV_BUFFER = 8 << 20;

/**
 * CSV rows formatted straight into one of two byte buffers while the other is written by the
 * thread pool (asynchronous writes). f32 values: nine significant digits (enough to read back the
 * same f32; `writeF32`); f64: JavaScript's shortest round-trip form. (Formatting on worker threads
 * was slower here: the copies and the threads competed with the GPU driver for the cores.)
 */
function csvSink(tmp: string, names: string[], saveat: ArrayLike<number>, precision: 'f32' | 'f64'): RawSink {
  const fd = openSync(tmp, 'w');
  let open = true;
  const N = names.length, S = saveat.length;
  const enc = new TextEncoder();
  // Each save time's text (",t") once, all in one byte array: row s's are timeText[timeAt[s] … timeAt[s + 1]).
  const timeParts = Array.from(saveat, (t) => enc.encode(`,${String(t)}`));
  const timeAt = new Int32Array(S + 1);
  timeParts.forEach((part, s) => { timeAt[s + 1] = timeAt[s]! + part.length; });
  const timeText = new Uint8Array(timeAt[S]!);
  timeParts.forEach((part, s) => timeText.set(part, timeAt[s]!));
  const trajText = new Uint8Array(24);
  const buffers = [new Uint8Array(CSV_BUFFER), new Uint8Array(CSV_BUFFER)];
  let current = 0, buf = buffers[0]!;
  let writing: Promise<void> = Promise.resolve();
  // A row's worst case: traj (≤ 16 digits), its save time's text, and N commas and numbers of ≤ 24 bytes each, '\n'.
  const rowMax = 16 + Math.max(0, ...timeParts.map((part) => part.length)) + 25 * N + 1;
  // The header through the encoder: state names may be any Unicode identifier.
  const header = enc.encode(`traj,t,${names.join(',')}\n`);
  buf.set(header);
  let pos = header.length;
  const flush = async () => {
    await writing;
    const full = buf, length = pos;
    writing = new Promise<void>((resolve, reject) => write(fd, full, 0, length, null, (err) => (err ? reject(err) : resolve())));
    current ^= 1;
    buf = buffers[current]!;
    pos = 0;
  };
  return {
    async write({ start, count, y }) {
      // Byte copies by hand below: TypedArray.set costs more than the few bytes it would copy.
      let out = buf, at = pos;
      for (let b = 0; b < count; b++) {
        const trajLength = writeUint(trajText, 0, start + b);
        for (let s = 0; s < S; s++) {
          if (at + rowMax > out.length) { pos = at; await flush(); out = buf; at = pos; }
          for (let i = 0; i < trajLength; i++) out[at++] = trajText[i]!;
          for (let i = timeAt[s]!, end = timeAt[s + 1]!; i < end; i++) out[at++] = timeText[i]!;
          const o = (b * S + s) * N;
          for (let k = 0; k < N; k++) {
            out[at++] = 44; // ','
            at = precision === 'f32' ? writeF32(out, at, y, o + k) : writeAscii(out, at, String(y[o + k]!));
          }
          out[at++] = 10; // '\n'
        }
      }
      pos = at;
    },
    async close() { await flush(); await writing; fsyncSync(fd); closeSync(fd); open = false; },
    abort() { if (open) { closeSync(fd); open = false; } },
  };
}

/** The long table's columns for one chunk: traj, t, then each state (strided out of y). */
function columnsOf({ start, count, y }: TrajectoryChunk, N: number, saveat: ArrayLike<number>, precision: 'f32' | 'f64') {
  const S = saveat.length, rows = count * S;
  const traj = new Int32Array(rows), t = new Float64Array(rows);
  for (let b = 0; b < count; b++) {
    traj.fill(start + b, b * S, (b + 1) * S);
    for (let s = 0; s < S; s++) t[b * S + s] = saveat[s]!;
  }
  const states = Array.from({ length: N }, (_, k) => {
    const col = precision === 'f32' ? new Float32Array(rows) : new Float64Array(rows);
    for (let r = 0; r < rows; r++) col[r] = y[r * N + k]!;
    return col;
  });
  return { traj, t, states };
}

/** Arrow IPC file format (RecordBatchFileWriter): one record batch per chunk. */
function arrowSink(tmp: string, names: string[], saveat: ArrayLike<number>, precision: 'f32' | 'f64'): RawSink {
  const valueType = () => (precision === 'f32' ? new Float32() : new Float64());
  const fields = [new Field('traj', new Int32(), false), new Field('t', new Float64(), false), ...names.map((n) => new Field(n, valueType(), true))];
  const schema = new Schema(fields);
  const writer = new RecordBatchFileWriter();
  // Opened now (not lazily by the stream), so that an abort's removal of the file cannot come first.
  const out = createWriteStream('', { fd: openSync(tmp, 'w') });
  const finished = new Promise<void>((resolve, reject) => { out.on('finish', resolve); out.on('error', reject); });
  const bytes = writer.toNodeStream();
  bytes.pipe(out);
  return {
    async write(chunk) {
      const { traj, t, states } = columnsOf(chunk, names.length, saveat, precision);
      const length = traj.length;
      const children = [
        makeData({ type: new Int32(), length, data: traj }),
        makeData({ type: new Float64(), length, data: t }),
        ...states.map((data) => makeData({ type: valueType(), length, data })),
      ];
      writer.write(new RecordBatch(schema, makeData({ type: new Struct(fields), length, children })));
      // Let the pipe hand the batch's bytes to the file before the next chunk is built.
      await new Promise<void>((r) => setImmediate(r));
      if (out.writableNeedDrain) await new Promise<void>((r) => out.once('drain', () => r()));
    },
    async close() { writer.finish(); await finished; },
    // Stop the pipe and drop the writer (its abort() leaves a rejected read behind in the pipe).
    abort() { finished.catch(() => undefined); bytes.unpipe(out); bytes.destroy(); out.destroy(); },
  };
}

/** Parquet (hyparquet-writer, Snappy): one row group per chunk. */
function parquetSink(tmp: string, names: string[], saveat: ArrayLike<number>, precision: 'f32' | 'f64'): RawSink {
  const writer = new ParquetWriter({
    writer: fileWriter(tmp),
    schema: [
      { name: 'root', num_children: names.length + 2 },
      { name: 'traj', type: 'INT32', repetition_type: 'REQUIRED' },
      { name: 't', type: 'DOUBLE', repetition_type: 'REQUIRED' },
      ...names.map((name) => ({ name, type: precision === 'f32' ? 'FLOAT' as const : 'DOUBLE' as const, repetition_type: 'REQUIRED' as const })),
    ],
    createdBy: 'condensate-twin',
  });
  return {
    async write(chunk) {
      const { traj, t, states } = columnsOf(chunk, names.length, saveat, precision);
      await writer.write({
        // Encodings chosen, not guessed per chunk (the writer's guessing and min/max statistics of
        // every float column took most of its time): traj ascending (delta), t a few distinct values
        // (dictionary), states plain; statistics on traj and t, which readers filter on.
        columnData: [
          { name: 'traj', data: traj, encoding: 'DELTA_BINARY_PACKED' as const },
          { name: 't', data: t, encoding: 'RLE_DICTIONARY' as const },
          ...states.map((data, k) => ({ name: names[k]!, data, encoding: 'PLAIN' as const, statistics: false })),
        ],
        rowGroupSize: traj.length,
      });
    },
    async close() { await writer.finish(); },
    abort() { /* the temporary file is removed by the caller */ },
  };
}

/** What `writeStatus` and the CLI's failure report read of a solve: per-trajectory status and counters. */
export type SolveSummary = Pick<Solution, 'status' | 'tEnd' | 'stats' | 'backend'>;

/**
 * Writes `status.csv` (traj,status,steps,rejected), atomically.
 * @example
 * writeStatus('status.csv', sol); // traj,status,steps,rejected
 */
export function writeStatus(path: string, sol: SolveSummary): void {
  writeFileAtomic(path, (write) => {
    write('traj,status,steps,rejected\n');
    let buf = '';
    for (let b = 0; b < sol.status.length; b++) {
      buf += `${b},${statusName(sol.status[b]!)},${sol.stats.steps[b]},${sol.stats.rejected[b]}\n`;
      if (buf.length > 1 << 20) { write(buf); buf = ''; }
    }
    write(buf);
  });
}
