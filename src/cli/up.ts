// `dromedar up`: the gateway in the foreground. Ctrl-C (or SIGTERM) stops accepting,
// lets running queries finish, then stops the local Drillbits and ZooKeeper (a Marathon
// app is left running for the next gateway); a second Ctrl-C stops at once. No local JVM
// outlives this process.
import type { Config } from '../config/load.js';
import { Gateway } from '../server/gateway.js';
import { LocalScheduler } from '../schedulers/local/local-scheduler.js';

export async function serveForeground(config: Config): Promise<number> {
  const gateway = await Gateway.start(config);
  installExitGuard(gateway);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`dromedar: ${signal} again, stopping now\n`);
        process.exit(130);
      }
      stopping = true;
      // Local Drillbits end with the gateway; a Marathon app is left to the next gateway.
      const then = gateway.scheduler instanceof LocalScheduler ? 'stopping Drillbits and ZooKeeper' : 'leaving the Drillbits to the next gateway';
      process.stderr.write(`dromedar: ${signal}: finishing running queries, then ${then} (again to force)\n`);
      gateway.stop().then(resolve, (err) => {
        process.stderr.write(`dromedar: stop failed: ${String(err)}\n`);
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return 0;
}

/** Whatever way this process ends, the JVMs it started end with it. */
export function installExitGuard(gateway: Gateway): void {
  const scheduler = gateway.scheduler;
  if (scheduler instanceof LocalScheduler) process.on('exit', () => scheduler.killAllNow());
}
