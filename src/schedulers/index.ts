import type { Config } from '../config/load.js';
import type { DrillRuntime } from '../drill/install.js';
import { LocalScheduler, type LocalSchedulerOptions } from './local/local-scheduler.js';
import type { Scheduler } from './scheduler.js';

export type { Drillbit, DrillbitState, Scheduler } from './scheduler.js';

/** The mechanism named in the config. */
export function createScheduler(config: Config, runtime: DrillRuntime, options: LocalSchedulerOptions = {}): Scheduler {
  switch (config.scheduler.kind) {
    case 'local':
      return new LocalScheduler(config, runtime, options);
    default:
      throw new Error(`scheduler ${config.scheduler.kind} is not available in this build`);
  }
}
