import type { Config } from '../config/load.js';
import { resolveRuntime } from '../drill/install.js';
import { LocalScheduler } from './local/local-scheduler.js';
import { MarathonScheduler } from './marathon/marathon-scheduler.js';
import type { Scheduler } from './scheduler.js';

export type { Drillbit, DrillbitState, Scheduler } from './scheduler.js';

/**
 * The mechanism named in the config. Only the local one needs Drill and a JDK on this
 * machine; with Marathon they live on the Mesos agents.
 */
export async function createScheduler(config: Config, options: { log?: (line: string) => void; warn?: (line: string) => void } = {}): Promise<Scheduler> {
  switch (config.scheduler.kind) {
    case 'local':
      return new LocalScheduler(config, await resolveRuntime(config), options);
    case 'marathon':
      return new MarathonScheduler(config, options);
  }
}
