export { createTestEnv, createTestOrg, waitFor, type TestEnv } from './env.js';
