export { createQueryApi, type QueryApiDeps, type QueryApiOptions } from './app.js';
export { QueryError, STATUS_BY_CODE, type QueryErrorCode } from './errors.js';
