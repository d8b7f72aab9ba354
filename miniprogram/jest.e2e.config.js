// e2e: the real services/ against a live server (FENGCHAO_API_URL). No jsdom, no simulator.
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/e2e/**/*.test.js'],
  testTimeout: 30000,
}
