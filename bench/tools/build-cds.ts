// Builds (or checks) the class-data archive of a Drill installation: node dist/bench/tools/build-cds.js [DRILL_DIR] [--force]
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ensureCdsArchive, findJdk } from '../../src/drill/install.js';

const home = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? join(homedir(), '.dromedar', 'drill-1.22.0');
const ok = await ensureCdsArchive({ home, java: await findJdk() }, (line) => console.log(line), { force: process.argv.includes('--force') });
process.exit(ok ? 0 : 1);
