// Prints the Drillbits app Dromedar would create in Marathon, for review or for a manual
// `curl -X PUT $MARATHON_URL/v2/apps/dromedar/drillbits -d @-`. marathon/drillbits.json
// is this output for marathon/drillbits.config.json (a test keeps the two in sync).
//
//   node dist/src/schedulers/marathon/render.js [config.json] [instances]
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../../config/load.js';
import { drillbitsApp } from './app-definition.js';

export function renderDrillbitsApp(file: string | undefined, instances = 0, env: NodeJS.ProcessEnv = process.env): string {
  return JSON.stringify(drillbitsApp(loadConfig({ file, env }), instances), null, 2) + '\n';
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, instances] = process.argv.slice(2);
  process.stdout.write(renderDrillbitsApp(file, Number(instances ?? 0)));
}
