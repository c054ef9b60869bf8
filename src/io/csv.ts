/**
 * CSV in and out. Reading goes through csv-parse (quoting, BOMs, CRLF handled by a maintained
 * parser); errors name file, line and column. Writing goes to a temporary file renamed into place,
 * so an interrupted or failed run never leaves a half-written result.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { parse } from 'csv-parse/sync';

/** Bad input data; message is `file:line:col: what — what to do`. */
export class InputError extends Error {
  override name = 'InputError';
}

export interface CsvTable {
  header: string[];
  rows: string[][];
  /** 1-based source line of each row. */
  lines: number[];
}

export function readCsv(path: string): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, { bom: true, skip_empty_lines: true, trim: true, info: true, relax_column_count: false }) as unknown as typeof records;
  } catch (err) {
    const e = err as Error & { lines?: number; code?: string };
    throw new InputError(`${path}:${e.lines ?? '?'}: ${e.message.replace(/^Invalid Record Length: /, '')}`);
  }
  if (records.length === 0) throw new InputError(`${path}:1:1: the file is empty; expected a header row`);
  const [head, ...rest] = records;
  return { header: head!.record, rows: rest.map((r) => r.record), lines: rest.map((r) => r.info.lines) };
}

/** Parses a numeric cell or throws an InputError naming its place. */
export function numberCell(value: string, path: string, line: number, column: number, name: string): number {
  const x = value === '' ? NaN : Number(value);
  if (!Number.isFinite(x)) {
    throw new InputError(`${path}:${line}:${column}: "${value}" in column "${name}" is not a finite number`);
  }
  return x;
}

/**
 * Writes `produce`'s chunks to `path` atomically: a temporary file beside it, fsync, rename.
 * On any error the temporary file is removed and `path` is untouched.
 */
export function writeFileAtomic(path: string, produce: (write: (chunk: string) => void) => void): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    const f = fd;
    produce((chunk) => { writeSync(f, chunk); });
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
}
