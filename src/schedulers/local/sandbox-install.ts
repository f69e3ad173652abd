// `dromedar sandbox install` (part of `npm run setup`): makes sure bubblewrap is there
// for the Drillbit sandbox. Nothing to do when bwrap works (one probe, milliseconds);
// as root with apt-get it installs Debian's `bubblewrap`; otherwise it says how, in one line.
import { run } from '../../util/process.js';
import { findBwrap, findExecutable, forgetProbes, probeSandbox } from './sandbox.js';

export type SandboxSetup = 'present' | 'installed' | 'manual';

export async function ensureBubblewrap(say: (line: string) => void, path = process.env.PATH ?? ''): Promise<SandboxSetup> {
  try {
    say(`sandbox: ${await probeSandbox(path)} works`);
    return 'present';
  } catch (err) {
    if (findBwrap(path) !== null) {
      // Installed but unusable here (no namespaces in this container): installing again does not help.
      say(`sandbox: ${(err as Error).message}`);
      return 'manual';
    }
  }
  const aptGet = findExecutable('apt-get', path);
  if (process.getuid?.() !== 0 || aptGet === null) {
    say(`sandbox: bubblewrap (bwrap) is missing; install it as root (${aptGet ? 'sudo apt-get install bubblewrap' : "your system's bubblewrap package"}) or set scheduler.local.sandbox: false`);
    return 'manual';
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run(aptGet, ['install', '-y', '--no-install-recommends', 'bubblewrap'], { env, timeoutMs: 600_000 });
  let result = await install();
  // A fresh image has no package lists yet ("Unable to locate package").
  if (result.code !== 0) {
    const update = await run(aptGet, ['update'], { env, timeoutMs: 600_000 });
    if (update.code === 0) result = await install();
  }
  forgetProbes();
  if (result.code !== 0) {
    const why = (result.stderr || result.stdout).trim().split('\n').filter(Boolean).pop() ?? `exit ${result.code}`;
    say(`sandbox: apt-get install bubblewrap failed (${why}); install it by hand or set scheduler.local.sandbox: false`);
    return 'manual';
  }
  try {
    say(`sandbox: installed bubblewrap; ${await probeSandbox(path)} works`);
    return 'installed';
  } catch (err) {
    say(`sandbox: installed bubblewrap, but ${(err as Error).message}`);
    return 'manual';
  }
}
