#!/usr/bin/env node
'use strict';
// The CLI is TypeScript compiled to dist/ (by `npm install` through the prepare script, or `npm run build`).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('jartrail: the CLI is not built yet; run `npm run build` in the jartrail folder first\n');
  process.exit(1);
}
require(entry);
