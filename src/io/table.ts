/**
 * Tables as microscope software and spreadsheets export them, before any layout is interpreted:
 * text files of any separator (`,` `;` tab), UTF-8 with or without a BOM, UTF-16 with a BOM, CRLF,
 * quoted fields with separators and newlines inside, decimal commas from European locales, a
 * trailing NUL byte (Zeiss ZEN), and Excel workbooks (first sheet) through exceljs.
 *
 * Every row keeps its 1-based source line (the line it starts on), so layout readers can name
 * `file:line:column` in their errors. Columns are 1-based field numbers.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { InputError } from './csv.js';

export type Separator = ',' | ';' | '\t';
export type DecimalMark = '.' | ',';

export interface TableRow {
  fields: string[];
  /** 1-based line (text) or row (workbook) where the record starts. */
  line: number;
}

export interface RawTable {
  path: string;
  /** What `file:line:col` names in messages: the path, plus the sheet for a workbook. */
  where: string;
  rows: TableRow[];
  separator: Separator | 'xlsx';
  decimal: DecimalMark;
  warnings: string[];
}

const SEPARATOR_NAME: Record<Separator, string> = { ',': 'comma', ';': 'semicolon', '\t': 'tab' };
export const separatorName = (s: Separator | 'xlsx') => (s === 'xlsx' ? 'workbook' : SEPARATOR_NAME[s]);

/** The file's text: BOM (UTF-8 or UTF-16) removed, trailing NULs dropped with a warning. */
export function readText(path: string, warnings: string[]): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new InputError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let text: string;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = bytes.subarray(2).toString('utf16le');
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
  else text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const trimmed = text.replace(/\0+$/, '');
  if (trimmed.length !== text.length) warnings.push(`${text.length - trimmed.length} trailing NUL byte(s) ignored`);
  const nul = trimmed.indexOf('\0');
  if (nul >= 0) {
    const before = trimmed.slice(0, nul), line = before.split('\n').length;
    throw new InputError(`${path}:${line}:${nul - before.lastIndexOf('\n')}: a NUL byte inside the text; this looks like a binary file or a UTF-16 file without its byte-order mark — export it as CSV or tab-separated text`);
  }
  if (trimmed.includes('\uFFFD')) warnings.push('some bytes are not valid UTF-8 and were replaced; export the table as UTF-8');
  return trimmed;
}

/**
 * Per line (outside quotes), how many times each candidate separator occurs; the separator whose
 * most common non-zero count is shared by the most lines wins (title lines such as `Channel 1`
 * have no separator and vote for none). Ties go to tab, then semicolon, then comma, because a
 * comma may also be a decimal mark or sit in free text.
 */
export function detectSeparator(text: string): Separator {
  const counts: Record<Separator, number[]> = { '\t': [], ';': [], ',': [] };
  let current: Record<Separator, number> = { '\t': 0, ';': 0, ',': 0 };
  let quoted = false, lines = 0;
  for (let i = 0; i < text.length && lines < 200; i++) {
    const ch = text[i]!;
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || i === text.length - 1)) {
      for (const s of ['\t', ';', ','] as Separator[]) counts[s].push(current[s]);
      current = { '\t': 0, ';': 0, ',': 0 };
      lines++;
    } else if (!quoted && (ch === '\t' || ch === ';' || ch === ',')) current[ch]++;
  }
  let best: Separator = ',', bestScore = 0;
  for (const s of ['\t', ';', ','] as Separator[]) {
    const freq = new Map<number, number>();
    for (const c of counts[s]) if (c > 0) freq.set(c, (freq.get(c) ?? 0) + 1);
    const score = Math.max(0, ...freq.values());
    if (score > bestScore) { best = s; bestScore = score; }
  }
  return best;
}

const DECIMAL_COMMA = /^[-+]?\d*,\d+(?:[eE][-+]?\d+)?$/;
const DECIMAL_POINT = /^[-+]?\d*\.\d+(?:[eE][-+]?\d+)?$/;

/** ',' when the separator is not a comma and numbers are written `1,5`; never when `1.5` also occurs. */
function detectDecimal(rows: TableRow[], separator: Separator): DecimalMark {
  if (separator === ',') return '.';
  let commas = 0, points = 0;
  for (const r of rows) for (const f of r.fields) {
    const v = f.trim();
    if (DECIMAL_COMMA.test(v)) commas++;
    else if (DECIMAL_POINT.test(v)) points++;
  }
  return commas > 0 && points === 0 ? ',' : '.';
}

/** Where the quote that is still open at the end of the text was opened (1-based line, column). */
function openQuote(text: string): { line: number; column: number } | undefined {
  let line = 1, lineStart = 0, open: { line: number; column: number } | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') open = open ? undefined : { line, column: i - lineStart + 1 };
    else if (ch === '\n') { line++; lineStart = i + 1; }
  }
  return open;
}

/** Reads a delimited text table (separator and decimal mark detected unless given). */
export function readTextTable(path: string, options: { separator?: Separator } = {}): RawTable {
  const warnings: string[] = [];
  const text = readText(path, warnings);
  const separator = options.separator ?? detectSeparator(text);
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, { delimiter: separator, relax_column_count: true, relax_quotes: true, skip_empty_lines: false, info: true, trim: true }) as unknown as typeof records;
  } catch (err) {
    const e = err as Error & { lines?: number };
    if (/quote/i.test(e.message)) {
      const at = openQuote(text);
      throw new InputError(`${path}:${at ? `${at.line}:${at.column}` : e.lines ?? '?'}: a quoted field is never closed; check for a stray \`"\``);
    }
    throw new InputError(`${path}:${e.lines ?? '?'}: ${e.message}`);
  }
  const rows: TableRow[] = [];
  let next = 1;
  for (const r of records) {
    const line = next;
    next = r.info.lines + 1;
    if (r.record.every((f) => f === '')) continue; // blank line, or a row of empty cells
    rows.push({ fields: r.record, line });
  }
  if (rows.length === 0) throw new InputError(`${path}:1:1: the file is empty`);
  return { path, where: path, rows, separator, decimal: detectDecimal(rows, separator), warnings };
}

/** Reads the first worksheet of an .xlsx workbook as strings (numbers in full precision). */
export async function readXlsxTable(path: string): Promise<RawTable> {
  const { default: ExcelJS } = await import('exceljs');
  const book = new ExcelJS.Workbook();
  try {
    await book.xlsx.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(`${path}: ${code === 'ENOENT' ? 'cannot read (ENOENT)' : `not a readable .xlsx workbook (${(err as Error).message.split('\n')[0]}); save it from Excel as "Excel Workbook (.xlsx)"`}`);
  }
  const sheet = book.worksheets[0];
  if (!sheet) throw new InputError(`${path}: the workbook has no worksheet`);
  const warnings: string[] = [];
  if (book.worksheets.length > 1) warnings.push(`only the first worksheet ("${sheet.name}") is read; the workbook has ${book.worksheets.length}`);
  const rows: TableRow[] = [];
  sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const fields: string[] = [];
    for (let c = 1; c <= row.cellCount; c++) fields.push(cellText(row.getCell(c).value));
    while (fields.length > 0 && fields[fields.length - 1] === '') fields.pop();
    if (fields.length > 0) rows.push({ fields, line: rowNumber });
  });
  if (rows.length === 0) throw new InputError(`${path} [sheet "${sheet.name}"]:1:1: the worksheet is empty`);
  return { path, where: `${path} [sheet "${sheet.name}"]`, rows, separator: 'xlsx', decimal: '.', warnings };
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  const o = v as { result?: unknown; richText?: Array<{ text: string }>; text?: string; error?: string };
  if (o.error) return o.error; // '#DIV/0!' and friends: read as text, reported where a number is expected
  if ('result' in o) return cellText(o.result); // a formula: its cached value
  if (o.richText) return o.richText.map((r) => r.text).join('').trim();
  if (typeof o.text === 'string') return o.text.trim();
  return String(v);
}

/**
 * Reads a table from a text file or an .xlsx workbook, by extension.
 * @example
 * const table = await readTable('frap.xlsx');
 * table.rows[0]?.fields; table.separator; // 'xlsx'
 */
export async function readTable(path: string, options: { separator?: Separator } = {}): Promise<RawTable> {
  return /\.xlsx$/i.test(path) ? readXlsxTable(path) : readTextTable(path, options);
}

/** Missing-value spellings: empty, NA, NaN, N/A, null, '-' (and Excel's #N/A). */
export const isMissing = (v: string) => /^(|na|nan|n\/a|#n\/a|null|none|-)$/i.test(v.trim());

/**
 * The number in a cell (decimal mark as detected), NaN for a missing value, or an InputError that
 * names the place.
 */
export function parseCell(table: RawTable, row: TableRow, column: number, name: string): number {
  const raw = (row.fields[column] ?? '').trim();
  if (isMissing(raw)) return NaN;
  const text = table.decimal === ',' ? raw.replace(',', '.') : raw;
  const x = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(x)) {
    throw new InputError(`${table.where}:${row.line}:${column + 1}: "${raw}" in column "${name}" is not a number${table.decimal === '.' && DECIMAL_COMMA.test(raw) ? ' (a decimal comma in a comma-separated file? export with ";" as separator, or with "." as decimal mark)' : ''}`);
  }
  return x;
}

/** True when a cell reads as a number under the table's decimal mark (missing values are not numbers). */
export function looksNumeric(value: string, decimal: DecimalMark): boolean {
  const v = value.trim();
  const text = decimal === ',' ? v.replace(',', '.') : v;
  return /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text);
}

/** The file name without folders and extension; the patient is the part before its first `_`. */
export function fileStem(path: string): string {
  return path.replace(/^.*[\\/]/, '').replace(/\.(csv|tsv|txt|xlsx|xls)$/i, '');
}
export const patientOfFile = (path: string) => fileStem(path).split('_')[0] || fileStem(path);
