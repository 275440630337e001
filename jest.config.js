module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__test__/**/*.test.js'],
  // Each file starts its own emulator process; keep the suite well inside CI's time budget.
  testTimeout: 30000,
}
