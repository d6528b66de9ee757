import type { ServerResponse } from 'node:http';
import type { EncodedBody } from './encode.js';

/** Writes a complete response with its exact Content-Type (no charset suffix, no ETag). */
export function send(res: ServerResponse, status: number, encoded: EncodedBody): void {
  res.statusCode = status;
  res.setHeader('Content-Type', encoded.contentType);
  res.setHeader('Content-Length', encoded.body.length);
  res.end(encoded.body);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  send(res, status, { contentType: 'text/plain; charset=utf-8', body: Buffer.from(text) });
}
