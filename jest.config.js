/** @type {import('jest').Config} */
const project = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
};

module.exports = {
  // Tests start real servers and brokers: 2 workers match this machine's 2 cores.
  maxWorkers: 2,
  testTimeout: 30_000,
  projects: [
    { ...project, displayName: 'server', testMatch: ['<rootDir>/test/**/*.test.ts'], testPathIgnorePatterns: ['/test/e2e/'] },
    { ...project, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
