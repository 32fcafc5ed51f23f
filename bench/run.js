// Runs every benchmark in bench/ (each prints its own table) and writes all figures as JSON to
// bench/results/<date>.json. Run: npm run bench   (or: npm run bench -- sync change  to pick some)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = ['change', 'algorithms', 'store', 'browserStore', 'tabs', 'server', 'pgServer', 'sync', 'liveness', 'pushEncoding'];
const picked = process.argv.slice(2).filter(name => all.includes(name));
const results = { node: process.version, date: new Date().toISOString() };

for (const name of picked.length ? picked : all) {
  console.log(`\n━━ ${name} ━━`);
  const module = await import(`./${name}.js`);
  results[name] = await module.main();
}

mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', `${results.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
console.log(`\nfigures written to ${file}`);
