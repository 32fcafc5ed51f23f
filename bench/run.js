// Runs every benchmark in bench/ (each prints its own table, then its headline figures beside
// the baseline in bench/baseline.json, with the ratio) and writes all figures as JSON to
// bench/results/<date>.json. Run: npm run bench   (or: npm run bench -- sync change  to pick some)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printAgainstBaseline } from './figures.js';

const here = dirname(fileURLToPath(import.meta.url));
const all = ['bundle', 'change', 'algorithms', 'store', 'offlineSession', 'browserStore', 'offlineTabs', 'tabs', 'tabsAnnounce', 'browserSync', 'server', 'lwwServer', 'pgServer', 'longHistory', 'sync', 'compression', 'docs', 'scale', 'liveness', 'pushEncoding'];
const baselineFile = join(here, 'baseline.json');
const baseline = existsSync(baselineFile) ? JSON.parse(readFileSync(baselineFile, 'utf8')) : undefined;
const picked = process.argv.slice(2).filter(name => all.includes(name));
const results = { node: process.version, date: new Date().toISOString() };

for (const name of picked.length ? picked : all) {
  console.log(`\n━━ ${name} ━━`);
  const module = await import(`./${name}.js`);
  results[name] = await module.main();
  printAgainstBaseline(name, results[name], baseline);
}

mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', `${results.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
console.log(`\nfigures written to ${file}`);
