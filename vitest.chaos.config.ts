import { defineConfig } from 'vitest/config'

/** The long randomized suites (`npm run test:chaos`): chaos run and fuzzer. */
export default defineConfig({
  test: {
    include: ['tests/chaos/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
})
