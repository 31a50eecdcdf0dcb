#!/usr/bin/env node
// The installed entry point: the compiled CLI (npm run build writes dist/).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('api7-ha is not built yet: run `npm run build` (or `npm test` / `npm run demo`, which build it)\n');
  process.exit(2);
}
const cli = require(entry);
cli.main(process.argv).then(cli.exitAfterFlush, (e) => {
  process.stderr.write(`error: ${e && e.message ? e.message : e}\n`);
  cli.exitAfterFlush(1);
});
