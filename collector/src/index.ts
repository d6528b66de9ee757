export { createCollector, type Collector, type CollectorDeps, type CollectorOptions } from './app.js';
export { IngestError, ERROR_TABLE, type IngestErrorCode, type ErrorMapping } from './errors.js';
export { createCollectorMetrics, type CollectorMetrics, type CollectorGaugeSources } from './metrics.js';
export { admitAll, type Admit, type AdmitDecision, type AdmitLoad } from './backpressure/admit.js';
export type { IngestPrincipal } from './auth/authenticate.js';
export type { CorsOrigins } from './receive/cors.js';
export { decodeProtobufTraceRequest, encodeProtobufTraceRequest } from './decode/protobuf.js';
export { decodeJsonTraceRequest } from './decode/json.js';
export {
  encodeExportResponse,
  encodeRpcStatus,
  decodeExportResponse,
  decodeRpcStatus,
  type EncodedBody,
  type PartialSuccess,
} from './respond/encode.js';
export { CONTENT_TYPES, type PayloadFormat } from './receive/content.js';
export { createPlanAdmit, type PlanAdmitDeps, type PlanAdmitOptions } from './quota/plan-admit.js';
