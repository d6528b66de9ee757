import Long from 'long';
import protobuf from 'protobufjs';
import { OTLP_PROTO_FILES } from './otlp-proto.js';

// 64-bit fields decode to Long so nanosecond timestamps stay exact.
protobuf.util.Long = Long;
protobuf.configure();

function buildRoot(): protobuf.Root {
  const root = new protobuf.Root();
  for (const source of OTLP_PROTO_FILES) protobuf.parse(source, root, { keepCase: false });
  root.resolveAll();
  return root;
}

const root = buildRoot();

/** The message types the collector reads and writes, parsed once per process. */
export const otlpTypes = {
  ExportTraceServiceRequest: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
  ExportTraceServiceResponse: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
  RpcStatus: root.lookupType('google.rpc.Status'),
} as const;
