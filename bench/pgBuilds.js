// bench/pgServer.js's two commit scenarios against several builds of this package side by side,
// on one throwaway PostgreSQL cluster: each build runs its own `patches-rx-server` processes (1 or
// --processes N, on a database of its own) for the whole bench, so they are warm after the first
// round, and the builds take turns, scenario by scenario, for --rounds rounds (default 5).
// Prints every round's commits/s and the median per build, with the ratio to the first build.
//
// Run: npm run build && node bench/pgBuilds.js [--processes 1|3] [--rounds N] [root …]
// A root is a checkout of patches-rx with its dist/ built (default: this one). The build before
// a change, for example:
//   git worktree add /tmp/before HEAD~1 && ln -s "$PWD/node_modules" /tmp/before/node_modules
//   (cd /tmp/before && npm run build)
//   node bench/pgBuilds.js --processes 3 /tmp/before .
import { resolve } from 'node:path';
import { serverProcess, throwawayCluster } from './pgServer.js';
import { scenario } from './server.js';
import { median } from './waits.js';

const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const PROCESSES = Number(option('--processes', '1'));
const ROUNDS = Number(option('--rounds', '5'));
const CLIENTS = 12;
const PER_CLIENT = 150;
const roots = process.argv.slice(2).filter((arg, i, all) => !arg.startsWith('--') && !all[i - 1]?.startsWith('--'));
if (roots.length === 0) roots.push('.');

const SCENARIOS = [
  ['100 docs', (prefix) => (client, i) => `${prefix}doc-${(client * 37 + i * 13) % 100}`],
  ['1 hot doc', (prefix) => () => `${prefix}hot`],
];

const cluster = await throwawayCluster();
if (!cluster) {
  console.log("skipped: no PostgreSQL (install Debian's postgresql or set PG_BIN)");
  process.exit(0);
}
const builds = [];
try {
  for (const [index, root] of roots.entries()) {
    await cluster.createDatabase(`builds_${index}`);
    const processes = [];
    for (let i = 0; i < PROCESSES; i++) processes.push(await serverProcess(cluster.url(`builds_${index}`), resolve(root)));
    builds.push({ root, processes, figures: Object.fromEntries(SCENARIOS.map(([name]) => [name, []])) });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const build of builds) {
      for (const [name, pick] of SCENARIOS) {
        const pickDoc = pick(`r${round}-`);
        // Clients round-robin over the processes, as behind a load balancer.
        const perProcess = await Promise.all(
          build.processes.map((p, n) => scenario(p.url, { clients: CLIENTS / PROCESSES, perClient: PER_CLIENT, pickDoc: (c, i) => pickDoc(c * PROCESSES + n, i) })),
        );
        // All commits over the time of the slowest process.
        build.figures[name].push(perProcess.reduce((sum, r) => sum + r.commits, 0) / Math.max(...perProcess.map((r) => r.seconds)));
      }
    }
  }
} finally {
  await Promise.all(builds.flatMap((build) => build.processes.map((p) => p.stop())));
  await cluster.stop();
}
console.log(`PostgreSQL, ${PROCESSES} process(es) per build, ${CLIENTS} clients × ${PER_CLIENT} commits, ${ROUNDS} rounds (builds alternated): commits/s`);
console.table(
  builds.flatMap((build) =>
    SCENARIOS.map(([name]) => {
      const runs = build.figures[name];
      const first = median(builds[0].figures[name]);
      return { build: build.root, scenario: name, runs: runs.map((n) => n.toFixed(0)).join(' / '), median: median(runs).toFixed(0), ratio: (median(runs) / first).toFixed(2) };
    }),
  ),
);
