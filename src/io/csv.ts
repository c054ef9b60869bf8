/**
 * CSV in and out. Reading goes through the table reader of ./table.ts (csv-parse: quoting, BOMs,
 * CRLF); errors name file, line and column. Writing goes to a temporary file renamed into place,
 * so an interrupted or failed run never leaves a half-written result.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { readTextTable } from './table.js';

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

/** A comma-separated table whose rows all have the header's width (params and data files). */
export function readCsv(path: string): CsvTable {
  const [head, ...rest] = readTextTable(path, { separator: ',' }).rows;
  for (const r of rest) {
    if (r.fields.length !== head!.fields.length) {
      throw new InputError(`${path}:${r.line}: ${r.fields.length} fields, but the header has ${head!.fields.length}; every row needs one value per column`);
    }
  }
  return { header: head!.fields, rows: rest.map((r) => r.fields), lines: rest.map((r) => r.line) };
}

/** Parses a numeric cell or throws an InputError naming its place. */
export function numberCell(value: string, path: string, line: number, column: number, name: string): number {
  const x = value === '' ? NaN : Number(value);
  if (!Number.isFinite(x)) {
    throw new InputError(`${path}:${line}:${column}: "${value}" in column "${name}" is not a finite number`);
  }
  return x;
}

/** A CSV field, quoted (RFC 4180) when it holds a comma, quote or line break. */
export const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

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
