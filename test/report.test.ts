/**
 * `ctwin report` (issue #12), end to end through the CLI: a patient named
 * `<img src=x onerror=alert(1)>` is calibrated (briefly), screened and reported; the HTML escapes the
 * name and ships no script; headless Chromium (Debian's `chromium`, driven by puppeteer-core) opens
 * the file without network, every figure is a non-empty SVG with marks, no console error and no
 * dialog; a screenshot is written next to the report.
 * Without Chromium the browser part is skipped with its reason; with CI=true it fails instead.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const CLI = new URL('../dist/cli/main.js', import.meta.url).pathname;
const EXAMPLES = new URL('../examples/cohort/', import.meta.url).pathname;
const run = promisify(execFile);
const EVIL = '<img src=x onerror=alert(1)>';
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);

let dir = '', html = '';
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ctwin-report-'));
  copyFileSync(join(EXAMPLES, 'P01_spots.csv'), join(dir, `${EVIL}_spots.csv`));
  writeFileSync(join(dir, 'design.csv'), readFileSync(join(EXAMPLES, 'design.csv'), 'utf8').split('\n').filter((l, i) => i === 0 || l.startsWith('P01,')).map((l) => l.replace(/^P01,/, `${EVIL},`)).join('\n'));
  const ctwin = (...args: string[]) => run('node', [CLI, ...args], { cwd: dir, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  await ctwin('calibrate', '--model', join(EXAMPLES, '..', 'condensate.json'), '--data', `${EVIL}_spots.csv`, '--design', 'design.csv', '--out', 'twins',
    '--starts', '1', '--rounds', '1', '--iterations', '3', '--quiet');
  await ctwin('combo', '--twins', 'twins', '--out', 'screen', '--pairs', 'jq1+thz1,hexanediol+flavopiridol', '--doses', '4', '--samples', '4', '--t1', '7200', '--backend', 'cpu', '--quiet');
  await ctwin('report', '--twins', 'twins', '--combo', 'screen', '--out', 'report.html', '--quiet');
  html = readFileSync(join(dir, 'report.html'), 'utf8');
}, 240_000);

describe('ctwin report', () => {
  it('escapes names from users\' files and ships no script, no remote reference', () => {
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain(EVIL);
    expect(html).not.toMatch(/<script/i);
    // No event-handler attribute in any tag (attribute values, where escaped names may sit, removed).
    expect(html.replace(/"[^"]*"/g, '""')).not.toMatch(/<[a-z][^>]*\son[a-z]+\s*=/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    // Every figure carries a caption saying what it shows; axes carry units.
    const figures = html.match(/<figure>/g)!.length;
    expect(html.match(/<figcaption><b>What this shows:<\/b>/g)).toHaveLength(figures);
    expect(html).toContain('time (min)');
    expect(html).toContain('(% inhibition)');
  });

  it.skipIf(!CHROMIUM && process.env.CI !== 'true')(`renders in headless Chromium: every figure an SVG with marks, no console error, no dialog, no network${CHROMIUM ? '' : ' (skipped: no chromium; apt-get install chromium)'}`, async () => {
    expect(CHROMIUM, 'CI=true needs Chromium (Debian package chromium; .ci/run installs it)').toBeTruthy();
    const { default: puppeteer } = await import('puppeteer-core');
    const browser = await puppeteer.launch({ executablePath: CHROMIUM!, args: ['--no-sandbox', '--headless=new'] });
    try {
      const page = await browser.newPage();
      const errors: string[] = [], dialogs: string[] = [], requests: string[] = [];
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      page.on('pageerror', (err) => errors.push(String(err)));
      page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
      page.on('request', (r) => { if (!r.url().startsWith('file:')) requests.push(r.url()); });
      await page.setViewport({ width: 1200, height: 900 });
      await page.goto(`file://${join(dir, 'report.html')}`, { waitUntil: 'load' });
      const figures = await page.$$eval('figure', (fs) => fs.map((f) => {
        const svgs = [...f.querySelectorAll('svg')];
        return { svgs: svgs.length, marks: svgs.map((s) => s.querySelectorAll('g[class*="mark-"] path, g[class*="mark-"] line, g[class*="mark-"] rect').length), width: Math.min(...svgs.map((s) => s.getBoundingClientRect().width)) };
      }));
      // Fits (2 observables), parameters, dose–response, 2 heat maps, trajectories, ranking.
      expect(figures.length).toBe(8);
      for (const f of figures) {
        expect(f.svgs).toBeGreaterThan(0);
        for (const m of f.marks) expect(m).toBeGreaterThan(10);
        expect(f.width).toBeGreaterThan(100);
      }
      expect(await page.evaluate(() => document.scripts.length)).toBe(0);
      expect(await page.$$eval('img', (imgs) => imgs.length)).toBe(0);
      expect(await page.evaluate(() => [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.toLowerCase().startsWith('on'))).length)).toBe(0);
      const title = await page.$eval('h3', (h) => h.textContent);
      expect(title).toContain(EVIL); // shown as text
      await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
      expect(errors).toEqual([]);
      expect(dialogs).toEqual([]);
      expect(requests).toEqual([]);
      console.log(`report screenshot: ${join(dir, 'report.png')}`);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
