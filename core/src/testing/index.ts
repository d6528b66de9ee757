export { createTestEnv, createTestOrg, waitFor, type TestEnv } from './env.js';
export { freePort, startNodeProcess, waitForHttp, type NodeProcess } from './processes.js';
export { startTcpProxy, type TcpProxy, type TcpProxyOptions } from './proxy.js';
