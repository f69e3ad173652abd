// The QSF rule: one Drillbit per `qsf` MiB of data read, within the pool's bounds.
import { DromedarError } from '../util/errors.js';

const MIB = 2 ** 20;
// Plain decimal notation only: no hex, no "Infinity", no blanks.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** drillbits = clamp(ceil(bytes / (qsf × 2^20)), min, max), and at least 1. */
export function drillbitsFor(bytes: number, qsf: number, bounds: { min?: number; max?: number } = {}): number {
  if (!(Number.isFinite(bytes) && bytes >= 0)) throw new RangeError(`bytes must be a finite number >= 0, got ${bytes}`);
  if (!(Number.isFinite(qsf) && qsf > 0)) throw new DromedarError('invalid_qsf', `qsf must be a positive finite number, got ${qsf}`, 400);
  const wanted = Math.ceil(bytes / (qsf * MIB));
  const clamped = Math.min(bounds.max ?? Infinity, Math.max(bounds.min ?? 1, wanted));
  return Math.max(1, clamped);
}

/**
 * A QSF given by a user: a number, or a numeric string (query parameter, header).
 * Throws DromedarError('invalid_qsf', 400) naming the field and the allowed range.
 */
export function parseQsf(value: unknown, field: string, bounds: { min: number; max: number }): number {
  const qsf = typeof value === 'number' ? value : typeof value === 'string' && DECIMAL.test(value) ? Number(value) : NaN;
  if (Number.isFinite(qsf) && qsf > 0 && qsf >= bounds.min && qsf <= bounds.max) return qsf;
  throw new DromedarError(
    'invalid_qsf',
    `${field} must be a number from ${bounds.min} to ${bounds.max} (MiB of data per Drillbit), got ${describeValue(value)}`,
    400,
  );
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
