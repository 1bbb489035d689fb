import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Servers and sockets are real; give slow CI machines room without hiding hangs.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Each file starts its own servers on port 0, so files can run in parallel.
    pool: 'forks',
  },
});
