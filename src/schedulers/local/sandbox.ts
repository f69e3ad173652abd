// The sandbox around a local Drillbit: a bubblewrap (bwrap) mount namespace that holds
// only what a Drillbit needs — the JDK and Drill (read-only), its own folder and the
// cluster's shared state (read-write), the workspace roots (read-only unless writable),
// a generated /etc, /proc of its own pid namespace, a minimal /dev and a private /tmp.
// This is the boundary that holds when a SQL check is wrong: whatever Drill is made to
// read, list or write, it finds only this view. Networking stays shared (Drillbits
// bind the loopback address; ZooKeeper runs outside, in the gateway's scheduler).
//
// The mounts are plain data (`Mount[]`), computed from the configuration in one place
// (`drillbitMounts`), then turned into bwrap's argv (`bwrapArgs`).
import { execFile, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { mkdir, readdir, realpath, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { DromedarError } from '../../util/errors.js';

export type Mount =
  /** Host path bound at `dest` (same path when `src` is omitted). `try`: skipped when the source is missing. */
  | { kind: 'ro' | 'rw'; dest: string; src?: string; try?: boolean }
  | { kind: 'symlink'; dest: string; target: string }
  | { kind: 'tmpfs'; dest: string; sizeBytes?: number }
  | { kind: 'proc' | 'dev'; dest: string };

/** What a Drillbit's sandbox is made of, by the local scheduler. */
export interface SandboxInput {
  /** The `java` the Drillbit runs (any symlink; its JDK is found through them). */
  java: string;
  /** Drill's installation (jars, class-data archive). */
  drillHome: string;
  /** The cluster's configuration folder (drill-override.conf, logback.xml, storage override). */
  confDir: string;
  /** This Drillbit's own folder (logs, tmp, spill, graceful signal file, its generated etc/). */
  bitDir: string;
  /** Folders every Drillbit of the cluster writes (see `sharedStateDirs`). */
  stateDirs: string[];
  workspaces: Array<{ root: string; writable: boolean }>;
}

/**
 * The cluster-wide folders under <home>/local that Drillbits write: the one list of
 * read-write state binds besides each Drillbit's own folder. `cluster/` holds the
 * dynamic UDF area and the query profile store (drill-override.conf points both there);
 * a new shared folder goes under it, or into this list.
 */
export function sharedStateDirs(localDir: string): string[] {
  return [join(localDir, 'cluster')];
}

/** The one line a gateway says when it cannot sandbox Drillbits. */
export function sandboxUnavailable(reason: string): string {
  return `cannot start Drillbits: ${reason}; install bubblewrap (apt-get install bubblewrap) or opt out of the Drillbit sandbox with scheduler.local.sandbox: false`;
}

export const SANDBOX_OFF_WARNING =
  'scheduler.local.sandbox is false: Drillbits run WITHOUT the sandbox and can read and write whatever this user can; a SQL check is then the only boundary';

/** `bwrap` on the PATH, or null. */
export function findBwrap(path = process.env.PATH ?? ''): string | null {
  return findExecutable('bwrap', path);
}

export function findExecutable(command: string, path: string): string | null {
  for (const dir of path.split(':')) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return join(dir, command);
    } catch {
      /* not here */
    }
  }
  return null;
}

const probes = new Map<string, Promise<string>>();

/**
 * Finds bwrap and checks, once per process (and PATH), that it can make a namespace
 * here (a container without user namespaces or mount rights cannot). Resolves to
 * bwrap's path; rejects with the one readable line.
 */
export function probeSandbox(path = process.env.PATH ?? ''): Promise<string> {
  let probe = probes.get(path);
  if (!probe) {
    probe = runProbe(path);
    probes.set(path, probe);
  }
  return probe;
}

/** Forget earlier probes (after installing bwrap). */
export function forgetProbes(): void {
  probes.clear();
}

async function runProbe(path: string): Promise<string> {
  const bwrap = findBwrap(path);
  if (!bwrap) throw new DromedarError('sandbox_unavailable', sandboxUnavailable('bubblewrap (bwrap) is not on the PATH'));
  const failure = await new Promise<string | null>((done) => {
    execFile(bwrap, ['--ro-bind', '/', '/', '--unshare-pid', '--proc', '/proc', '--dev', '/dev', 'true'], { timeout: 10_000 }, (error, _stdout, stderr) =>
      done(error ? (String(stderr).trim().split('\n').pop() || error.message) : null),
    );
  });
  if (failure !== null) throw new DromedarError('sandbox_unavailable', sandboxUnavailable(`bwrap cannot create a namespace here (${failure})`));
  return bwrap;
}

/** The JDK of a `java` binary: its real home, and the folders outside it that its symlinks reach. */
interface Jdk {
  java: string;
  home: string;
  external: string[];
}

const jdks = new Map<string, Promise<Jdk>>();

// Debian's JDK links conf/ and lib/security/cacerts to /etc/java-17-openjdk and
// /etc/ssl/certs/java; the sandbox binds those targets (their folders), nothing else of /etc.
export function jdkOf(java: string): Promise<Jdk> {
  let jdk = jdks.get(java);
  if (!jdk) {
    jdk = findJdk(java);
    jdks.set(java, jdk);
  }
  return jdk;
}

async function findJdk(java: string): Promise<Jdk> {
  const real = await realpath(java);
  const home = dirname(dirname(real));
  const targets = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isSymbolicLink()) {
        const target = await realpath(path).catch(() => null);
        if (target !== null && !inside(target, home)) targets.add(lstatSync(target).isDirectory() ? target : dirname(target));
      }
    }
  };
  await walk(home);
  return { java: real, home, external: outermost([...targets]) };
}

function inside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
}

/** The paths none of whose ancestors is in the list. */
function outermost(paths: string[]): string[] {
  const sorted = [...new Set(paths)].sort((a, b) => a.length - b.length);
  const out: string[] = [];
  for (const p of sorted) if (!out.some((o) => inside(p, o))) out.push(p);
  return out;
}

// The shared libraries and tools (bash, ls, stat: Hadoop's local file system shells out
// for permissions) live in /usr; /bin, /lib... are symlinks into it on merged-/usr
// systems and are recreated as such, or bound when they are real folders.
const TOP_LEVEL_SYSTEM = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];
// Host files of /etc that hold no secret and that the JVM or libc read.
const HOST_ETC = ['ld.so.cache', 'localtime'];

function systemMounts(): Mount[] {
  const mounts: Mount[] = [{ kind: 'ro', dest: '/usr' }];
  for (const name of TOP_LEVEL_SYSTEM) {
    const path = `/${name}`;
    if (!existsSync(path)) continue;
    const stat = lstatSync(path);
    mounts.push(stat.isSymbolicLink() ? { kind: 'symlink', dest: path, target: readlinkSync(path) } : { kind: 'ro', dest: path });
  }
  for (const name of HOST_ETC) {
    const path = `/etc/${name}`;
    if (!existsSync(path)) continue;
    const stat = lstatSync(path);
    mounts.push(stat.isSymbolicLink() ? { kind: 'symlink', dest: path, target: readlinkSync(path) } : { kind: 'ro', dest: path });
  }
  // The JVM sizes itself from its cgroup's limits (container support); read-only.
  mounts.push({ kind: 'ro', dest: '/sys/fs/cgroup', try: true });
  return mounts;
}

/** Files of the Drillbit's /etc, written into <bitDir>/etc (see `writeSandboxEtc`). */
export const GENERATED_ETC = ['passwd', 'group', 'hosts', 'resolv.conf', 'nsswitch.conf'];

/**
 * Writes the Drillbit's /etc: a passwd and group with only the running user (the JVM
 * and Hadoop look the user up; its home is the Drillbit's folder), the host's name
 * resolution files (hosts, resolv.conf: no secrets) and an nsswitch.conf for files + DNS.
 */
export async function writeSandboxEtc(bitDir: string): Promise<string> {
  const dir = join(bitDir, 'etc');
  await mkdir(dir, { recursive: true });
  const user = userInfo();
  const name = user.username || 'drill';
  const hostFile = (path: string, fallback: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return fallback;
    }
  };
  const files: Record<string, string> = {
    passwd: `${name}:x:${user.uid}:${user.gid}:Drillbit:${bitDir}:/usr/sbin/nologin\n`,
    group: `${name}:x:${user.gid}:\n`,
    hosts: hostFile('/etc/hosts', `127.0.0.1 localhost ${hostname()}\n::1 localhost ip6-localhost ip6-loopback\n`),
    'resolv.conf': hostFile('/etc/resolv.conf', ''),
    'nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n',
  };
  await Promise.all(Object.entries(files).map(([file, text]) => writeFile(join(dir, file), text)));
  return dir;
}

// The private /tmp is memory: bounded, so that writing into it cannot exhaust the host
// (Drill's own temporary and spill files go to the Drillbit's folder, not here).
export const PRIVATE_TMP_BYTES = 128 * 2 ** 20;

/** Every mount of one Drillbit's sandbox, from the configuration. */
export async function drillbitMounts(input: SandboxInput): Promise<Mount[]> {
  const jdk = await jdkOf(input.java);
  const etc = join(input.bitDir, 'etc');
  return [
    // A private /tmp (java.io.tmpdir: hsperfdata, Jetty, native libraries), /proc of the
    // Drillbit's own pid namespace (no other process's environ or cmdline), a minimal /dev.
    { kind: 'tmpfs', dest: '/tmp', sizeBytes: PRIVATE_TMP_BYTES },
    { kind: 'proc', dest: '/proc' },
    { kind: 'dev', dest: '/dev' },
    ...systemMounts(),
    ...GENERATED_ETC.map((file): Mount => ({ kind: 'ro', src: join(etc, file), dest: `/etc/${file}` })),
    { kind: 'ro', dest: jdk.home },
    ...jdk.external.map((dir): Mount => ({ kind: 'ro', dest: dir })),
    { kind: 'ro', dest: input.drillHome },
    { kind: 'ro', dest: input.confDir },
    ...input.workspaces.map((ws): Mount => ({ kind: ws.writable ? 'rw' : 'ro', dest: resolve(ws.root), try: true })),
    ...input.stateDirs.map((dir): Mount => ({ kind: 'rw', dest: dir })),
    { kind: 'rw', dest: input.bitDir },
  ];
}

/**
 * Orders mounts so that a folder is mounted before what is mounted inside it, and drops
 * those already covered by an identical bind of an enclosing folder (the JDK under /usr).
 */
export function orderMounts(mounts: Mount[]): Mount[] {
  const depth = (m: Mount) => m.dest.split('/').filter(Boolean).length;
  const sorted = mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i).map((x) => x.m);
  const kept: Mount[] = [];
  for (const m of sorted) {
    if (kept.some((k) => k.dest === m.dest)) {
      // The same destination twice (a workspace at the Drillbit's folder...): the later, more specific one wins.
      kept.splice(kept.findIndex((k) => k.dest === m.dest), 1);
    } else if ((m.kind === 'ro' || m.kind === 'rw') && m.src === undefined) {
      const parent = kept.filter((k) => k.dest !== m.dest && inside(m.dest, k.dest)).sort((a, b) => depth(b) - depth(a))[0];
      if (parent && parent.kind === m.kind && 'src' in parent && parent.src === undefined) continue;
    }
    kept.push(m);
  }
  return kept;
}

export interface SandboxCommand {
  /** The sandboxed command's environment (bwrap starts it with exactly this). */
  env: Record<string, string>;
  cwd: string;
  /** File descriptor bwrap writes its JSON info (with the sandboxed child's pid) to. */
  infoFd: number;
}

/** bwrap's argv for `command args` in these mounts. */
export function bwrapArgs(mounts: Mount[], sandboxed: SandboxCommand, command: string, args: string[]): string[] {
  const out = [
    // Its own pid namespace, the JVM as its pid 1 (signals from the scheduler reach it
    // directly; when it exits, the namespace ends), its own IPC, a new session (no
    // terminal to push input into), and no capabilities even when the gateway is root.
    '--unshare-pid',
    '--as-pid-1',
    '--unshare-ipc',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--clearenv',
    ...Object.entries(sandboxed.env).flatMap(([key, value]) => ['--setenv', key, value]),
    '--info-fd',
    String(sandboxed.infoFd),
  ];
  for (const m of orderMounts(mounts)) {
    switch (m.kind) {
      case 'ro':
      case 'rw':
        out.push(`--${m.kind === 'ro' ? 'ro-bind' : 'bind'}${m.try ? '-try' : ''}`, m.src ?? m.dest, m.dest);
        break;
      case 'symlink':
        out.push('--symlink', m.target, m.dest);
        break;
      case 'tmpfs':
        if (m.sizeBytes !== undefined) out.push('--size', String(m.sizeBytes));
        out.push('--tmpfs', m.dest);
        break;
      case 'proc':
      case 'dev':
        out.push(`--${m.kind}`, m.dest);
        break;
    }
  }
  // The root itself (a tmpfs holding the mount points) read-only: nothing is written but
  // the read-write binds and /tmp.
  out.push('--remount-ro', '/', '--chdir', sandboxed.cwd, '--', command, ...args);
  return out;
}

/** The real path of `java`, which is what runs inside (its symlinks, e.g. /etc/alternatives, are not there). */
export function realJava(java: string): string {
  return realpathSync(java);
}

/** The sandboxed JVM's pid, from bwrap's JSON on fd 3 ({"child-pid": N, ...}). */
export function sandboxedPid(child: ChildProcess): Promise<number> {
  const info = child.stdio[3] as NodeJS.ReadableStream | null | undefined;
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err: Error | null, pid?: number) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      (info as unknown as { destroy?: () => void } | null | undefined)?.destroy?.();
      if (err) reject(err);
      else resolve(pid!);
    };
    const onExit = (code: number | null) => done(new Error(`bwrap exited with ${code}`));
    const timer = setTimeout(() => done(new Error('bwrap reported no pid within 30 s')), 30_000);
    child.once('exit', onExit);
    if (!info) return done(new Error('no info pipe to bwrap'));
    info.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      try {
        const pid = (JSON.parse(text) as { 'child-pid'?: unknown })['child-pid'];
        if (typeof pid === 'number') done(null, pid);
      } catch {
        /* not all of it yet */
      }
    });
  });
}
