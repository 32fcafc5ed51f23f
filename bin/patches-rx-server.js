#!/usr/bin/env node
(await import('../dist/server/cli.js')).runCli(process.argv.slice(2));
