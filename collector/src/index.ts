export { createCollector, type Collector, type CollectorDeps, type CollectorOptions } from './app.js';
export { IngestError, ERROR_TABLE, type IngestErrorCode, type ErrorMapping } from './errors.js';
export { createCollectorMetrics, type CollectorMetrics } from './metrics.js';
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
