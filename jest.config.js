module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__test__/**/*.test.js'],
  // Every file's messages, errors and log events are scanned for the credentials it used.
  setupFilesAfterEnv: ['<rootDir>/__test__/helpers/secret-scan.js'],
  // Each file starts its own emulator process; keep the suite well inside CI's time budget.
  testTimeout: 30000,
}
