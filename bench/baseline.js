// Writes bench/baseline.json: each headline figure (bench/figures.js) as the median of several
// runs, with the load the machine was under. Run it on the commit you want to compare against:
//
//   npm run build && node --expose-gc bench/baseline.js --runs 3 [bench names…]
//   node bench/baseline.js --from runs.json      (reuse runs collected earlier, same format)
//
// runs.json: { [bench]: [{ load: [1, 5, 15 min load averages], figures: <what main() returned> }] }
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIGURES, figuresOf } from './figures.js';
import { median } from './waits.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const names = args.filter((arg, i) => !arg.startsWith('--') && !args[i - 1]?.startsWith('--'));

let runs;
if (option('--from')) {
  runs = JSON.parse(readFileSync(option('--from'), 'utf8'));
} else {
  runs = {};
  for (const name of names.length ? names : Object.keys(FIGURES)) {
    const module = await import(`./${name}.js`);
    runs[name] = [];
    for (let i = 0; i < Number(option('--runs') ?? 3); i++) runs[name].push({ load: loadavg(), figures: await module.main() });
  }
}

const figures = {};
const load = {};
for (const [bench, list] of Object.entries(runs)) {
  const perRun = list.map((run) => figuresOf(bench, run.figures));
  figures[bench] = {};
  for (const name of Object.keys(perRun[0] ?? {})) figures[bench][name] = Number(median(perRun.map((run) => run[name]).filter((v) => v !== undefined)).toPrecision(4));
  load[bench] = list.map((run) => run.load.map((value) => value.toFixed(1)).join(' '));
}
const commit = option('--commit') ?? execSync('git rev-parse --short HEAD', { cwd: here }).toString().trim();
const baseline = {
  measured: {
    date: new Date().toISOString(),
    commit,
    node: process.version,
    cpus: cpus().length,
    how: `median of ${Math.max(...Object.values(runs).map((list) => list.length))} runs per benchmark`,
    load: option('--load') ?? 'see loadAverages (1, 5, 15 min, at the start of each run)',
    loadAverages: load,
  },
  figures,
};
writeFileSync(join(here, 'baseline.json'), JSON.stringify(baseline, null, 2) + '\n');
console.log(`bench/baseline.json written (${commit})`);
