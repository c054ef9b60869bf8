/** Command-line flag helpers: every mistake becomes a UsageError (exit code 2) that says what to do. */
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export class UsageError extends Error {
  override name = 'UsageError';
}

export type Flags<T extends Record<string, { type: 'string' | 'boolean' }>> = {
  [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string;
};

export function numberFlag(flags: Record<string, unknown>, name: string): number | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v === '' || !Number.isFinite(x)) throw new UsageError(`--${name} ${String(v)}: expected a number`);
  return x;
}

export function integerFlag(flags: Record<string, unknown>, name: string): number | undefined {
  const x = numberFlag(flags, name);
  if (x !== undefined && !Number.isInteger(x)) throw new UsageError(`--${name} ${String(flags[name])}: expected a whole number`);
  return x;
}

/** An output file's flag: its folder must exist and the path must not be a folder (checked before any work). */
export function checkOutputPath(flag: string, path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--${flag} ${path}: directory ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--${flag} ${path} is a directory; give a file name`);
}
