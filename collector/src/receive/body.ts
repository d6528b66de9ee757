import type { IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';
import { IngestError } from '../errors.js';

export interface ReadBodyOptions {
  /** largest body accepted, counted after decompression (and on the wire too) */
  maxBytes: number;
  gzip: boolean;
  /**
   * Charges decompressed bytes to the collector's in-flight budget as they arrive;
   * returns the error to stop reading with when the budget cannot take them.
   */
  charge?: (bytes: number) => IngestError | null;
}

export interface RequestBody {
  /** the decompressed body */
  data: Buffer;
  /** bytes read off the connection (compressed size for gzip bodies) */
  wireBytes: number;
}

const tooLarge = (max: number): IngestError =>
  new IngestError('body_too_large', `request body exceeds the limit of ${max} bytes (measured after decompression)`);

/**
 * Reads a request body into one buffer, inflating gzip on the fly. Both the wire bytes
 * and the inflated bytes are counted as they arrive, and reading stops the moment
 * either passes the limit (or the in-flight budget refuses more), so neither a huge
 * body nor a gzip bomb is ever held.
 */
export function readBody(req: IncomingMessage, options: ReadBodyOptions): Promise<RequestBody> {
  const max = options.maxBytes;
  const declared = Number(req.headers['content-length']);
  if (declared > max) return Promise.reject(tooLarge(max));

  return new Promise<RequestBody>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let wire = 0;
    let settled = false;
    const gunzip = options.gzip ? createGunzip({ chunkSize: 64 * 1024 }) : null;

    const finish = (err: IngestError | null): void => {
      if (settled) return;
      settled = true;
      req.off('data', onWire);
      req.off('end', onWireEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      if (gunzip) {
        gunzip.off('data', collect);
        gunzip.destroy();
      }
      if (err) {
        chunks.length = 0;
        // Discard whatever is still arriving; the error response closes the connection.
        req.resume();
        reject(err);
        return;
      }
      const first = chunks[0];
      resolve({ data: chunks.length === 1 && first ? first : Buffer.concat(chunks, size), wireBytes: wire });
    };
    const charge = options.charge;
    const collect = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) return finish(tooLarge(max));
      const refused = charge ? charge(chunk.length) : null;
      if (refused) return finish(refused);
      chunks.push(chunk);
    };
    const onWire = (chunk: Buffer): void => {
      wire += chunk.length;
      if (wire > max) return finish(tooLarge(max));
      if (!gunzip) return collect(chunk);
      if (!gunzip.write(chunk)) {
        req.pause();
        gunzip.once('drain', () => settled || req.resume());
      }
    };
    const onWireEnd = (): void => {
      if (gunzip) gunzip.end();
      else finish(null);
    };
    const onAbort = (): void => finish(new IngestError('invalid_body', 'the request body was cut off'));
    const onClose = (): void => {
      if (!req.complete) onAbort();
    };

    req.on('data', onWire);
    req.on('end', onWireEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
    if (gunzip) {
      gunzip.on('data', collect);
      gunzip.on('end', () => finish(null));
      gunzip.on('error', (err) => finish(new IngestError('invalid_body', `cannot gunzip the request body: ${err.message}`, { cause: err })));
    }
  });
}
