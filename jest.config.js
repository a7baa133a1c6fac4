'use strict';
/*
 * The service is CommonJS (Node 20.19+ require()s the ES-module packages of NestJS 12, jose 6 and others natively).
 * Jest's module loader cannot require() ES modules on Node 20, so for tests those packages are compiled to
 * CommonJS by babel: `import`/`export`, dynamic `import()` and `import.meta` included. The list of packages is
 * read from node_modules (every package.json with "type": "module"), so a new dependency needs no config change.
 * Our own TypeScript goes through swc with decorator metadata, as tsc compiles it for `npm start`.
 */
const fs = require('node:fs');
const path = require('node:path');

process.env.TZ = 'UTC';

function esModulePackages(nodeModules) {
  const found = [];
  const visit = (directory) => {
    for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const full = path.join(directory, entry.name);
      if (entry.name.startsWith('@')) {
        visit(full);
        continue;
      }
      try {
        if (JSON.parse(fs.readFileSync(path.join(full, 'package.json'), 'utf8')).type === 'module') found.push(path.relative(nodeModules, full));
      } catch {
        // Not a package (no package.json): nothing to compile.
      }
      const nested = path.join(full, 'node_modules');
      if (fs.existsSync(nested)) visit(nested);
    }
  };
  visit(nodeModules);
  return found;
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const esmPackages = esModulePackages(path.join(__dirname, 'node_modules'));

const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        target: 'es2023',
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
      },
      module: { type: 'commonjs' },
      sourceMaps: 'inline',
    },
  ],
  'node_modules/.+\\.m?js$': [
    'babel-jest',
    {
      babelrc: false,
      configFile: false,
      plugins: [
        require.resolve('./test/support/rename-own-require.babel-plugin.js'),
        'babel-plugin-transform-import-meta',
        // `export * as name from` (oidc-provider): the CommonJS transform needs it spelled out first.
        '@babel/plugin-transform-export-namespace-from',
        '@babel/plugin-transform-dynamic-import',
        '@babel/plugin-transform-modules-commonjs',
      ],
    },
  ],
};

const shared = {
  testEnvironment: 'node',
  transform,
  // The workspace packages (packages/*) are tested from their TypeScript, as the service is: a package that imports
  // another gets its source, not a build that may be stale.
  moduleNameMapper: { '^@jartrail/agent-sdk$': '<rootDir>/packages/agent-sdk/src/index.ts' },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.map(escape).join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
};

/** @type {import('jest').Config} */
module.exports = {
  // A global option: jest ignores it inside projects.
  testTimeout: 60_000,
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/bench/**/*.spec.ts', '<rootDir>/packages/*/src/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      // packages/*/test: the integrations' own suites, against a real jartrail on the same PostgreSQL.
      testMatch: ['<rootDir>/test/**/*.spec.ts', '<rootDir>/packages/*/test/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      slowTestThreshold: 30,
    },
  ],
};
