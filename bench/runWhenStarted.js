// The tail every bench shares: run when started with node, stay quiet when `bench/run.js` imports it.
import { pathToFileURL } from 'node:url';

/** Whether the module at `moduleUrl` is the script node was started with. */
export function startedDirectly(moduleUrl) {
  return Boolean(process.argv[1]) && moduleUrl === pathToFileURL(process.argv[1]).href;
}

/** Runs `run()` when the module at `moduleUrl` is the script node was started with; a failure is printed and exits 1. */
export function runWhenStarted(moduleUrl, run) {
  if (!startedDirectly(moduleUrl)) return;
  run().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
