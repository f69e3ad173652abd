// Structured logs: one JSON line per event (pino), so a request's sizing decision
// and timings can be grepped and shipped as they are.
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export function createLogger(level = process.env.DROMEDAR_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'dromedar' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Credentials never reach a log line, whatever a caller passes in.
    redact: { paths: ['authorization', 'headers.authorization', '*.password', '*.token'], censor: '[redacted]' },
  });
}
