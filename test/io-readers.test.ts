/**
 * Imaging readers on real-shaped files (test/fixtures/io: TrackMate 6 and 7 headers, European
 * locale, BOM/CRLF, untracked spots, gaps, splits, NaN cells; easyFRAP, plain, Zeiss ZEN- and Leica-
 * shaped FRAP tables; long CSV; covariates; the same layouts as .xlsx), and malformed files →
 * `file:line:col` message, exit 2, nothing written.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { readImaging } from '../src/io/read.js';
import { analyseFrap } from '../src/io/frap.js';
import { readCovariates } from '../src/io/long.js';
import { readTable } from '../src/io/table.js';

const FIX = new URL('./fixtures/io/', import.meta.url).pathname;
const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ctwin-io-'));
const run = promisify(execFile);

async function ctwin(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [CLI, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const series = (records: Awaited<ReturnType<typeof readImaging>>['records'], cell: string, observable: string) =>
  records.filter((r) => r.cell === cell && r.observable === observable).map((r) => [r.t, r.value]);

describe('TrackMate spots tables', () => {
  it('TrackMate 7: four header rows, BOM, CRLF, quoted label, untracked spots, a gap, a split, NaN', async () => {
    const { summary, records } = await readImaging(join(FIX, 'P01_spots.csv'));
    expect(summary).toMatchObject({ kind: 'trackmate-spots', headerRows: 4, separator: 'comma', decimal: '.', spots: 16, tracks: 3, untrackedSpots: 2, tracksWithGaps: 1, frames: 6, timeUnit: 'sec', frameInterval: 5, channels: ['CH1', 'CH2'], missingValues: 2 });
    expect(summary.patients).toEqual(['P01']);
    expect(series(records, '0', 'MEAN_INTENSITY_CH1')).toEqual([[0, 800], [5, 810], [10, 820], [15, 830], [20, 840], [25, 850]]);
    // Track 1 skips frame 3 and has two spots in frame 5 (625 and 630): averaged.
    expect(series(records, '1', 'MEAN_INTENSITY_CH1')).toEqual([[0, 600], [5, 605], [10, 610], [20, 620], [25, 627.5]]);
    // The NaN cell of track 2 is left out; its other channel is kept.
    expect(series(records, '2', 'MEAN_INTENSITY_CH2')).toEqual([[5, 120]]);
    expect(series(records, '2', 'MEAN_INTENSITY_CH1')).toEqual([[0, 500], [5, 510]]);
    expect(summary.warnings.join('\n')).toMatch(/2 untracked spots/);
    expect(summary.warnings.join('\n')).toMatch(/averaged/);
    expect(records.every((r) => r.observable !== 'RADIUS' && r.observable !== 'QUALITY')).toBe(true);
  });

  it('TrackMate 6: one header row, unitless time (assumed seconds, with a warning), channel-less keys', async () => {
    const { summary, records } = await readImaging(join(FIX, 'P02_spots.csv'));
    expect(summary).toMatchObject({ headerRows: 1, tracks: 2, spots: 8, frames: 4, frameInterval: 2 });
    expect(summary.observables).toContain('MEAN_INTENSITY');
    expect(summary.warnings.join()).toMatch(/not stated.*assumed seconds/);
    expect(series(records, '1', 'MEAN_INTENSITY')).toEqual([[0, 101], [2, 103], [4, 105], [6, 107]]);
  });

  it('European locale: semicolons, decimal commas, three header rows, time in minutes', async () => {
    const { summary, records } = await readImaging(join(FIX, 'P03_allspots.csv'));
    expect(summary).toMatchObject({ headerRows: 3, separator: 'semicolon', decimal: ',', timeUnit: 'min', frameInterval: 30, tracks: 2 });
    expect(series(records, '0', 'MEAN_INTENSITY_CH1')).toEqual([[0, 100.5], [30, 101.5], [60, 102.5]]);
    expect(series(records, '1', 'TOTAL_INTENSITY_CH1')).toEqual([[0, 1203.75], [30, 1204.75], [60, 1205.75]]);
  });

  it('--frame-interval times spots by FRAME instead of POSITION_T', async () => {
    const { summary, records } = await readImaging(join(FIX, 'P01_spots.csv'), { frameInterval: 2 });
    expect(summary.timeUnit).toBe('frame');
    expect(series(records, '0', 'MEAN_INTENSITY_CH1').map(([t]) => t)).toEqual([0, 2, 4, 6, 8, 10]);
  });

  it('a tracks table is recognised and reported as having no time series', async () => {
    const { summary, records } = await readImaging(join(FIX, 'P01_tracks.csv'));
    expect(summary).toMatchObject({ kind: 'trackmate-tracks', headerRows: 4, tracks: 2 });
    expect(records).toHaveLength(0);
  });
});

describe('FRAP tables', () => {
  it('easyFRAP layout: double normalisation corrects acquisition bleaching (Phair 2004); mobile fraction and t½', async () => {
    const { summary } = await readImaging(join(FIX, 'P04_easyfrap.txt'));
    const f = summary.frap!;
    expect(f).toMatchObject({ normalisation: 'double', prebleachFrames: 5, bleachTime: 2.5, roles: { bleached: 'ROI1', whole: 'ROI2', background: 'ROI3' } });
    // Generator: bleached fraction 0.3 + 0.6(1 − e^{−0.4 t'}), whole cell loses 10% at the bleach, both
    // decaying as e^{−0.01 t}. Double-normalised = fraction/0.9 → full scale reaches 1; t½ = ln2/0.4.
    expect(f.mobileFraction).toBeCloseTo(1, 4);
    expect(f.halfTime).toBeCloseTo(Math.LN2 / 0.4, 3);
    const post = f.curve.t.findIndex((t) => t >= 2.5);
    expect(f.curve.normalised[post]).toBeCloseTo(0.3 / 0.9, 6);
    expect(f.curve.fullScale[post]).toBeCloseTo(0, 12);
  });

  it('plain t,intensity: single normalisation', async () => {
    const { summary } = await readImaging(join(FIX, 'P05_plain.csv'));
    expect(summary.frap).toMatchObject({ normalisation: 'single', prebleachFrames: 4 });
    expect(summary.frap!.mobileFraction).toBeCloseTo(0.5 / 0.8, 4);
    expect(summary.frap!.halfTime).toBeCloseTo(Math.LN2 / 0.25, 3);
  });

  it('Zeiss ZEN shape: title lines, [s] units, frame index beside seconds, empty bleach rows, quoted free text with newlines, trailing NUL', async () => {
    const { summary, records } = await readImaging(join(FIX, 'P06_zen.txt'));
    expect(summary).toMatchObject({ kind: 'frap', separator: 'tab', frames: 18, frameInterval: 0.25 });
    expect(summary.warnings.join('\n')).toMatch(/NUL/);
    expect(summary.warnings.join('\n')).toMatch(/free-text column.*Notes/);
    expect(summary.warnings.join('\n')).toMatch(/2 row\(s\) without intensities/);
    // Time from the seconds column, not the 1-based frame index.
    expect(records.filter((r) => r.observable === 'ROI1 Mean').map((r) => r.t).slice(0, 4)).toEqual([0, 0.25, 0.5, 1.25]);
    expect(summary.frap!.mobileFraction).toBeCloseTo((0.8 / 0.92 - 0.25 / 0.92) / (1 - 0.25 / 0.92), 4);
    expect(summary.frap!.halfTime).toBeCloseTo(Math.LN2 / 1.2, 3);
  });

  it('Leica shape: a units row, semicolons and decimal commas, ROI roles named in brackets', async () => {
    const { summary } = await readImaging(join(FIX, 'P07_leica.csv'));
    expect(summary).toMatchObject({ separator: 'semicolon', decimal: ',', headerRows: 3, timeUnit: 's' });
    expect(summary.frap!.roles).toEqual({ bleached: 'ROI 1', whole: 'ROI 2', background: 'ROI 3' });
    expect(summary.frap!.mobileFraction).toBeCloseTo(0.7 / 0.9, 4);
  });

  it('analyseFrap recovers an exact single exponential', () => {
    const t = Array.from({ length: 60 }, (_, i) => i * 0.5);
    const I = t.map((ti) => (ti < 3 ? 100 : 100 * (0.1 + 0.6 * (1 - Math.exp(-0.3 * (ti - 3))))));
    const f = analyseFrap(t, I, undefined, undefined, { bleached: 'I' }, undefined);
    expect(f.prebleachFrames).toBe(6);
    expect(f.mobileFraction).toBeCloseTo(0.6 / 0.9, 6);
    expect(f.halfTime).toBeCloseTo(Math.LN2 / 0.3, 5);
  });
});

describe('long CSV and covariates', () => {
  it('long CSV keeps conditions, skips missing values', async () => {
    const { summary, records } = await readImaging(join(FIX, 'long.csv'));
    expect(summary).toMatchObject({ kind: 'long', patients: ['P01', 'P02'], cells: 2, records: 3, missingValues: 1 });
    expect(records[0]).toEqual({ patient: 'P01', cell: '1', t: 0, observable: 'MEAN_INTENSITY_CH1', value: 10.5, condition: 'hexanediol' });
    expect(records[2]).toEqual({ patient: 'P02', cell: 'a', t: 0, observable: 'ROI1', value: 3 });
  });

  it('covariates: one row per patient', async () => {
    const c = readCovariates(await readTable(join(FIX, 'covariates.csv')));
    expect(c.names).toEqual(['MYC', 'BRD4', 'MED1']);
    expect(c.values.get('P03')).toEqual([2, 1.5, 1.3]);
  });
});

describe('.xlsx workbooks: the same layouts', () => {
  async function workbook(name: string, rows: unknown[][]): Promise<string> {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet('Sheet1');
    rows.forEach((r) => sheet.addRow(r));
    const path = join(dir, name);
    await book.xlsx.writeFile(path);
    return path;
  }

  it('reads a TrackMate spots sheet, a FRAP sheet (with a formula cell) and a long sheet like their CSVs', async () => {
    const text = readFileSync(join(FIX, 'P01_spots.csv'), 'utf8').replace(/^\uFEFF/, '').trim().split('\r\n');
    const rows = text.map((l, i) => l.match(/("[^"]*"|[^,]*)(,|$)/g)!.slice(0, -1).map((c) => c.replace(/,$/, '').replace(/^"|"$/g, '')).map((c) => (i >= 4 && /^-?\d+(\.\d+)?$/.test(c) ? Number(c) : c)));
    const tm = await readImaging(await workbook('P01_spots.xlsx', rows));
    const csv = await readImaging(join(FIX, 'P01_spots.csv'));
    expect(tm.summary).toMatchObject({ kind: 'trackmate-spots', separator: 'workbook', headerRows: 4, tracks: 3, untrackedSpots: 2 });
    expect(tm.records).toEqual(csv.records.map((r) => ({ ...r, patient: 'P01' })));

    const frapRows: unknown[][] = [['Time [s]', 'ROI1', 'ROI2', 'ROI3']];
    for (let i = 0; i < 20; i++) {
      const t = i * 0.5, frac = i < 4 ? 1 : 0.2 + 0.6 * (1 - Math.exp(-0.5 * (t - 2)));
      frapRows.push([t, { formula: `10+${900 * frac}`, result: 10 + 900 * frac }, 1510, 10]);
    }
    const frap = await readImaging(await workbook('P08_frap.xlsx', frapRows));
    expect(frap.summary.frap!.mobileFraction).toBeCloseTo(0.6 / 0.8, 4);
    expect(frap.summary.frap!.halfTime).toBeCloseTo(Math.LN2 / 0.5, 3);

    const long = await readImaging(await workbook('long.xlsx', [['patient', 'cell', 't', 'observable', 'value'], ['P01', 3, 0, 'MEAN_INTENSITY_CH1', 1.25], ['P01', 3, 5, 'MEAN_INTENSITY_CH1', null]]));
    expect(long.records).toEqual([{ patient: 'P01', cell: '3', t: 0, observable: 'MEAN_INTENSITY_CH1', value: 1.25 }]);
    expect(long.summary.missingValues).toBe(1);
  });

  it('a bad cell in a workbook is named by sheet, row and column', async () => {
    const path = await workbook('bad.xlsx', [['patient', 'cell', 't', 'observable', 'value'], ['P01', 1, 'soon', 'X', 1]]);
    await expect(readImaging(path)).rejects.toThrow(/bad\.xlsx \[sheet "Sheet1"\]:2:3: "soon" in column "t" is not a number/);
  });
});

describe('ctwin inspect / convert', () => {
  it('inspect --json gives every summary; convert writes the sorted long CSV', async () => {
    const files = ['P01_spots.csv', 'P03_allspots.csv', 'P06_zen.txt'].map((f) => join(FIX, f));
    const r = await ctwin('inspect', '--json', ...files);
    expect(r.code, r.stderr).toBe(0);
    const summaries = JSON.parse(r.stdout) as Array<{ kind: string; untrackedSpots?: number }>;
    expect(summaries.map((s) => s.kind)).toEqual(['trackmate-spots', 'trackmate-spots', 'frap']);
    expect(summaries[0]!.untrackedSpots).toBe(2);
    const human = await ctwin('inspect', join(FIX, 'P06_zen.txt'));
    expect(human.stdout).toMatch(/mobile fraction 0\.821, t½ 0\.578 s/);
    const out = join(dir, 'long.csv');
    const c = await ctwin('convert', ...files, '--out', out);
    expect(c.code, c.stderr).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('patient,cell,t,observable,value');
    expect(lines[1]).toBe('P01,0,0,CONTRAST_CH1,0.2');
    expect(lines).toContain('P03,1,60,TOTAL_INTENSITY_CH1,1205.75');
    expect(lines).toContain('P06,P06_zen,1.25,ROI1 Mean,245');
    // Round trip: the long CSV reads back to the same records.
    const back = await readImaging(out);
    expect(back.summary.records).toBe(lines.length - 1);
  });
});

/** Malformed inputs: each → exit 2, a message with the place, and no output file. */
const TM_HEAD = 'LABEL,ID,TRACK_ID,QUALITY,POSITION_X,POSITION_T,FRAME,MEAN_INTENSITY_CH1\n';
const TM_UNITS = 'Label,Spot ID,Track ID,Quality,X,T,Frame,Mean ch1\n,,,(quality),(micron),(sec),,(counts)\n';
const LONG = 'patient,cell,t,observable,value\n';
const FRAP_HEAD = 'Time [s]\tROI1\tROI2\tROI3\n';
const frapRows = (n: number, f = (i: number) => `${i}\t${i === 3 ? 40 : 100}\t200\t10`) => Array.from({ length: n }, (_, i) => f(i)).join('\n') + '\n';
const MALFORMED: Array<[string, string | Buffer, RegExp, string[]?]> = [
  ['empty.csv', '', /empty\.csv:1:1: the file is empty/],
  ['blank.csv', '\uFEFF\n\n  \n', /the file is empty/],
  ['binary.csv', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49]), /binary\.csv:3:1: a NUL byte inside the text/],
  ['utf16-no-bom.csv', Buffer.from('patient,cell\n', 'utf16le'), /a NUL byte inside the text.*UTF-16/],
  ['unclosed.csv', `${LONG}P01,1,0,"X,1\nP01,1,5,X,2\n`, /unclosed\.csv:2:9: a quoted field is never closed/],
  ['P01_nointensity.csv', 'LABEL,ID,TRACK_ID,POSITION_T,FRAME\nID1,1,0,0,0\n', /P01_nointensity\.csv:1:1: no intensity columns/],
  ['P01_notime.csv', 'LABEL,ID,TRACK_ID,FRAME,MEAN_INTENSITY_CH1\nID1,1,0,0,5\n', /P01_notime\.csv:1:1: no POSITION_T column; pass --frame-interval/],
  ['P01_frames.csv', `${TM_HEAD}Label,Spot ID,Track ID,Quality,X,T,Frame,Mean ch1\n,,,(quality),(pixel),(frame),,(counts)\nID1,1,0,1,1,0,0,5\n`, /P01_frames\.csv:3:6: POSITION_T is in frames/],
  ['P01_unit.csv', `${TM_HEAD}Label,Spot ID,Track ID,Quality,X,T,Frame,Mean ch1\n,,,(quality),(pixel),(fortnight),,(counts)\nID1,1,0,1,1,0,0,5\n`, /P01_unit\.csv:3:6: unknown time unit "\(fortnight\)"/],
  ['P01_trackfrac.csv', `${TM_HEAD}${TM_UNITS}ID1,1,1.5,1,1,0,0,5\n`, /P01_trackfrac\.csv:4:3: TRACK_ID "1\.5" is not a whole number/],
  ['P01_tracktext.csv', `${TM_HEAD}${TM_UNITS}ID1,1,abc,1,1,0,0,5\n`, /P01_tracktext\.csv:4:3: "abc" in column "TRACK_ID" is not a number/],
  ['P01_frameneg.csv', `${TM_HEAD}${TM_UNITS}ID1,1,0,1,1,0,-2,5\n`, /P01_frameneg\.csv:4:7: FRAME "-2" is not a frame number/],
  ['P01_framena.csv', `${TM_HEAD}${TM_UNITS}ID1,1,0,1,1,0,0,5\nID2,2,0,1,1,5,n/a,6\n`, /P01_framena\.csv:5:7: FRAME "n\/a" is not a frame number/],
  ['P01_badvalue.csv', `${TM_HEAD}${TM_UNITS}ID1,1,0,1,1,0,0,12.3.4\n`, /P01_badvalue\.csv:4:8: "12\.3\.4" in column "MEAN_INTENSITY_CH1" is not a number/],
  ['P01_comma.csv', `${TM_HEAD}${TM_UNITS}ID1,1,0,1,1,0,0,"12,5"\n`, /P01_comma\.csv:4:8: "12,5".*decimal comma in a comma-separated file/],
  ['P01_alluntracked.csv', `${TM_HEAD}${TM_UNITS}ID1,1,,1,1,0,0,5\nID2,2,,1,1,5,1,6\n`, /P01_alluntracked\.csv: no tracked spots \(2 spots/],
  ['P01_emptytime.csv', `${TM_HEAD}${TM_UNITS}ID1,1,0,1,1,,0,5\n`, /P01_emptytime\.csv:4:6: POSITION_T is empty/],
  ['P01_tracks.csv', 'LABEL,TRACK_INDEX,TRACK_ID,NUMBER_SPOTS\nTrack_0,0,0,5\n', /P01_tracks\.csv: no measurements in it/],
  ['long-novalue.csv', 'patient,cell,t,observable\nP01,1,0,X\n', /long-novalue\.csv:1:1: missing column "value"/],
  ['long-extra.csv', 'patient,cell,t,observable,value,foo\nP01,1,0,X,1,2\n', /long-extra\.csv:1:6: unknown column "foo"/],
  ['long-twice.csv', 'patient,cell,t,observable,value,value\nP01,1,0,X,1,2\n', /long-twice\.csv:1:6: unknown column "value"|column "value" appears twice/],
  ['long-nopatient.csv', `${LONG}P01,1,0,X,1\n,2,0,X,1\n`, /long-nopatient\.csv:3:1: "patient" is empty/],
  ['long-badt.csv', `${LONG}P01,1,zero,X,1\n`, /long-badt\.csv:2:3: "zero" in column "t" is not a number/],
  ['long-emptyt.csv', `${LONG}P01,1,,X,1\n`, /long-emptyt\.csv:2:3: "t" is empty/],
  ['long-dup.csv', `${LONG}P01,1,0,X,1\nP01,1,0,X,2\n`, /long-dup\.csv:3:1: a second value for patient P01, cell 1, X at t = 0 \(first on line 2\)/],
  ['long-allmissing.csv', `${LONG}P01,1,0,X,NA\nP01,1,5,X,\n`, /long-allmissing\.csv: no measurements/],
  ['P02_frameonly.txt', 'Frame\tROI1\tROI2\n' + frapRows(6, (i) => `${i + 1}\t${i === 3 ? 40 : 100}\t200`), /P02_frameonly\.txt:1:1: only a frame index \("Frame"\), no time in seconds; pass --frame-interval/],
  ['P02_backwards.txt', FRAP_HEAD + '0\t100\t200\t10\n1\t100\t200\t10\n0.5\t40\t200\t10\n', /P02_backwards\.txt:4:1: time 0\.5 s does not increase/],
  ['P02_unit.txt', 'Time [fortnight]\tROI1\tROI2\tROI3\n' + frapRows(6), /P02_unit\.txt:1:1: unknown time unit "fortnight"/],
  ['P02_short.txt', FRAP_HEAD + frapRows(3), /P02_short\.txt: only 3 timed rows/],
  ['P02_frameunit.txt', 'Time [frame]\tROI1\tROI2\tROI3\n' + frapRows(6), /P02_frameunit\.txt:1:1: the time column "Time \[frame\]" counts frames/],
  ['P02_typo.txt', FRAP_HEAD + frapRows(6, (i) => `${i}\t${i === 2 ? '12..5' : i === 3 ? 40 : 100}\t200\t10`), /P02_typo\.txt:4:2: "12\.\.5" in column "ROI1" is not a number/],
  ['P02_dark.txt', FRAP_HEAD + frapRows(6, (i) => `${i}\t${i === 3 ? 2 : 5}\t200\t10`), /P02_dark\.txt: the pre-bleach intensity of the bleached ROI is not above background/],
  ['unknown.csv', 'foo,bar\n1,2\n', /unknown\.csv:1:1: cannot tell what this file is/],
  ['covs.csv', 'patient,MYC\nP01,1\n', /covs\.csv:1:1: this is a covariates table, not imaging data; pass it with --covariates/],
  ['design.csv', 'patient,cell,drug,dose,t_on\nP01,1,jq1,500 nM,0\n', /design\.csv:1:1: this is a design table/],
  ['problem.yaml', 'format_version: 1\n', /problem\.yaml:1:1: "problems" must list exactly one problem/],
  ['fake.xlsx', 'this is not a zip', /fake\.xlsx: not a readable \.xlsx workbook/],
];

describe('malformed files: clear error, exit 2, nothing written', () => {
  it(`has at least 30 cases (${MALFORMED.length})`, () => expect(MALFORMED.length).toBeGreaterThanOrEqual(30));
  for (const [name, content, message, extra] of MALFORMED) {
    it(name, async () => {
      const path = join(dir, name);
      writeFileSync(path, content);
      const out = join(dir, `out-${name}.csv`);
      const r = await ctwin('convert', path, '--out', out, ...(extra ?? []));
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out)).toBe(false);
    });
  }
  it('a missing file and bad flags', async () => {
    const out = join(dir, 'never.csv');
    for (const args of [[join(dir, 'nope.csv')], [join(FIX, 'P01_spots.csv'), '--frame-interval=-1'], [join(FIX, 'P01_spots.csv'), '--prebleach=0']]) {
      const r = await ctwin('convert', ...args, '--out', out);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/ENOENT|--frame-interval -1: must be a positive|--prebleach 0/);
    }
    expect((await ctwin('convert', join(FIX, 'P01_spots.csv'), '--out', join(dir, 'no/such/dir.csv'))).stderr).toMatch(/does not exist/);
    expect(existsSync(out)).toBe(false);
  });
  it('two files that claim the same cell', async () => {
    const a = join(dir, 'P09_a.csv'), b = join(dir, 'P09_b.csv'), out = join(dir, 'clash.csv');
    writeFileSync(a, `${TM_HEAD}${TM_UNITS}ID1,1,0,1,1,0,0,5\n`);
    writeFileSync(b, `${TM_HEAD}${TM_UNITS}ID1,1,0,1,1,0,0,6\n`);
    const r = await ctwin('convert', a, b, '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/P09_b\.csv: patient P09, cell 0, MEAN_INTENSITY_CH1 at t = 0 s is also in .*P09_a\.csv/);
    expect(existsSync(out)).toBe(false);
  });
});
