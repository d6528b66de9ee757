import { pino, type Logger } from 'pino';
import type { CanopyConfig } from './config/config.js';

export type { Logger };

/** Secrets never reach a log line: these paths are censored wherever they appear. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'key',
  'token',
  'password',
  '*.key',
  '*.token',
  '*.password',
];

export function createLogger(config: CanopyConfig['log'], service: string): Logger {
  return pino({
    name: service,
    level: config.level,
    redact: { paths: REDACT, censor: '[redacted]' },
    ...(config.pretty
      ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {}),
  });
}
