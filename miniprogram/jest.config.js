module.exports = {
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/test/**/*.test.js'],
  testPathIgnorePatterns: ['/node_modules/', '/test/e2e/'],
  snapshotSerializers: ['miniprogram-simulate/jest-snapshot-plugin'],
  setupFilesAfterEnv: ['<rootDir>/test/setup.js'],
  testTimeout: 15000,
}
