// Jest runs the TypeScript sources directly through @swc/jest (compiled to CommonJS for
// the test run only); `tsc` does the strict type check separately in `npm test`.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // idb ships ESM for `import`, CJS for `require`; nothing else needs transforming.
  transformIgnorePatterns: ['/node_modules/'],
  // Sources import with `.js` extensions (NodeNext ESM); map them back to the .ts files.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testTimeout: 20000,
};
