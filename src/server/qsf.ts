import { parseQsf } from '../sizing/index.js';

/** The running default QSF, changed with PUT /v1/qsf; bounds from the config. */
export class QsfSetting {
  constructor(
    private current: number,
    readonly bounds: { min: number; max: number },
  ) {
    this.current = parseQsf(current, 'sizing.qsf', bounds);
  }

  get value(): number {
    return this.current;
  }

  set(value: unknown): number {
    this.current = parseQsf(value, 'qsf', this.bounds);
    return this.current;
  }
}
