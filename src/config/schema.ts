// The whole configuration of Dromedar, validated in one place. Every section has
// defaults, so an empty file (or none) is a working laptop setup.
import { z } from 'zod';

const memory = z
  .string()
  .regex(/^\d+[KMGkmg]$/, 'a JVM size such as 1G or 1536M');

// RFC 6750's b64token: what fits in an Authorization header as it is. Messages never echo the value.
const bearerToken = z
  .string()
  .min(16, 'a token must be at least 16 characters')
  .max(512, 'a token must be at most 512 characters')
  .regex(/^[A-Za-z0-9._~+/-]+=*$/, 'a token may hold letters, digits and - . _ ~ + / (then =), no spaces or commas');

const workspace = z.object({
  // Relative locations are resolved against `dataDir`; absolute ones are taken as they are.
  location: z.string().min(1),
  writable: z.boolean().default(false),
  defaultInputFormat: z.string().nullable().default(null),
});

export const configSchema = z.object({
  // Where Dromedar keeps its state (ZooKeeper data, Drillbit directories) and, by default, Drill itself.
  home: z.string().min(1),
  dataDir: z.string().min(1),
  server: z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(9876),
      // Room for the largest SQL sized (1 MiB) with JSON escaping.
      bodyLimitBytes: z.number().int().positive().default(2 * 1024 * 1024 + 64 * 1024),
      // Bearer tokens (Authorization: Bearer <token>) required on every route but /healthz;
      // also DROMEDAR_TOKENS, comma-separated. None: no authentication, safe on loopback only.
      auth: z
        .object({
          tokens: z.array(bearerToken).default([]),
          // Drill's form login (POST /j_security_check, a token as the password) opens a
          // session kept in the gateway's memory: it ends after idleTimeoutSecs without a
          // request (Drill's drill.exec.http.session_max_idle_secs, default 3600) and at the
          // latest maxLifetimeSecs after the login; at most maxSessions at once (the oldest go first).
          session: z
            .object({
              idleTimeoutSecs: z.number().int().positive().default(3600),
              maxLifetimeSecs: z.number().int().positive().default(12 * 3600),
              maxSessions: z.number().int().positive().max(1_000_000).default(10_000),
            })
            .prefault({}),
          // GET /metrics without a token, for a Prometheus that cannot send one (it holds no
          // SQL or data, but says how busy the cluster is): off by default, like every route.
          publicMetrics: z.boolean().default(false),
        })
        .prefault({}),
    })
    .prefault({}),
  drill: z
    .object({
      version: z.literal('1.22.0').default('1.22.0'),
      // An existing Drill installation (DRILL_HOME); when unset, `dromedar drill install` provides one.
      home: z.string().min(1).optional(),
      // Where `dromedar drill install` puts Drill when `home` is unset (default: <home>/drill-<version>).
      installDir: z.string().min(1).optional(),
      // Modules of Drill's distribution installed beside drill-java-exec (src/drill/modules.ts):
      // "default" (UDFs and sample data), "all", "none", or a list of module names.
      modules: z.union([z.enum(['default', 'all', 'none']), z.array(z.string().min(1))]).default('default'),
      // Drill's user impersonation on the gateway's Drillbits (drill.exec.impersonation.enabled):
      // then the `userName` of POST /query.json runs the query as that user; off, a request
      // that names a user is refused with 400 rather than run as someone else.
      impersonation: z.boolean().default(false),
    })
    .prefault({}),
  storage: z
    .object({
      // Drill's `dfs` plugin as Dromedar gives it to Drill and as sizing reads it: one definition for both.
      // The shipped definition is config/dromedar.json; without one, only `default`, at dataDir.
      // (Drill would otherwise add its own `default` at "/".)
      workspaces: z
        .record(z.string().regex(/^[A-Za-z_][\w-]*$/), workspace)
        .default({ default: { location: '.', writable: false, defaultInputFormat: null } })
        .refine((ws) => 'default' in ws, 'a `default` workspace is required (Drill would otherwise add one at "/")'),
    })
    .prefault({}),
  queries: z
    .object({
      // Finished queries kept for GET /v1/queries and /v1/queries/{id} (newest first).
      history: z.number().int().min(0).max(100_000).default(100),
    })
    .prefault({}),
  // A read-only query that lost a Drillbit before its first row is run again this often.
  retries: z.number().int().min(0).max(3).default(1),
  // Trino's client protocol (/v1/statement, src/trino): a query nobody polls for
  // clientTimeoutMs is cancelled (Trino's query.client.timeout); pages are cut at pageBytes.
  trino: z
    .object({
      clientTimeoutMs: z.number().int().positive().default(5 * 60_000),
      pageBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    })
    .prefault({}),
  sizing: z
    .object({
      qsf: z.number().positive().default(100),
      qsfMin: z.number().positive().default(0.001),
      qsfMax: z.number().positive().default(1_000_000),
      cacheTtlMs: z.number().int().nonnegative().default(60_000),
      cacheMaxEntries: z.number().int().positive().default(10_000),
      // "scan": the bytes Drill reads (Parquet: the column chunks of the columns and row
      // groups it reads, from the files' footers); "files": the files' sizes.
      measure: z.enum(['scan', 'files']).default('scan'),
      // Parquet footer summaries kept (bytes, estimated); validated by each file's stat.
      footerCacheBytes: z.number().int().nonnegative().default(64 * 2 ** 20),
    })
    .prefault({}),
  pool: z
    .object({
      minDrillbits: z.number().int().nonnegative().default(0),
      // Unset: derived from the machine's memory and the per-Drillbit footprint.
      maxDrillbits: z.number().int().positive().optional(),
      idleTimeoutMs: z.number().int().nonnegative().default(300_000),
      // One meaning each (they were all pool.startTimeoutMs, which is still read, with a warning):
      // how long a query waits for its Drillbits or a slot (then 504, or 503 when slots were the wait);
      queueTimeoutMs: z.number().int().positive().default(300_000),
      // how long a launched Drillbit may take to come ONLINE before it is stopped and replaced;
      drillbitStartTimeoutMs: z.number().int().positive().default(300_000),
      // how long a query that lost a Drillbit waits for Drill's view to settle before its re-run;
      recoverTimeoutMs: z.number().int().positive().default(60_000),
      // how long a retired Drillbit may take to finish its queries before it is stopped anyway.
      drainTimeoutMs: z.number().int().positive().default(15 * 60_000),
      // Queries waiting for Drillbits beyond this many get 503 with Retry-After.
      queueLimit: z.number().int().positive().default(100),
      // Queries one Drillbit runs for the gateway at once; more wait in the gateway's queue.
      // Each holds one of Drill's web-server threads, so Drillbits get this many + 8.
      queriesPerDrillbit: z.number().int().positive().max(1000).default(8),
    })
    .prefault({}),
  scheduler: z
    .object({
      kind: z.enum(['local', 'marathon']).default('local'),
      local: z
        .object({
          host: z.string().default('127.0.0.1'),
          clusterId: z.string().regex(/^[\w-]+$/).default('dromedar'),
          heap: memory.default('1G'),
          directMemory: memory.default('1536M'),
          jvmOptions: z.array(z.string()).default([]),
          zookeeperPort: z.number().int().min(0).max(65535).default(0),
          // Drillbits an earlier (crashed) gateway left running: take them over, or stop them.
          leftovers: z.enum(['adopt', 'reap']).default('adopt'),
          // Each Drillbit in a bubblewrap sandbox (src/schedulers/local/sandbox.ts): it sees
          // only the JDK, Drill, its own folder and the workspaces. false: no sandbox (a warning at every start).
          sandbox: z.boolean().default(true),
        })
        .prefault({}),
      // Drillbits as tasks of one Marathon app (src/schedulers/marathon/); see marathon/README.md.
      marathon: z
        .object({
          url: z.string().url().default('http://localhost:8080'),
          // More Marathons of the same cluster, tried after `url`; the leader is found with GET /v2/leader.
          urls: z.array(z.string().url()).default([]),
          // PEM file of the CA that signed Marathon's certificate (https URLs).
          caFile: z.string().min(1).optional(),
          // How long one Marathon call keeps retrying (exponential backoff) while no Marathon leads.
          requestRetryMs: z.number().int().nonnegative().default(60_000),
          // How long one Marathon request may take to answer.
          requestTimeoutMs: z.number().int().positive().default(15_000),
          // Without Marathon's event stream (/v2/events down), the app is read this often (3 s while it changes).
          pollIntervalMs: z.number().int().positive().default(30_000),
          // DC/OS service account: the gateway logs in (RS256 JWT) and refreshes its token itself.
          serviceAccount: z.object({ uid: z.string().min(1), privateKeyFile: z.string().min(1), loginUrl: z.string().url().optional() }).optional(),
          appId: z
            .string()
            .regex(/^(\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?)+$/, 'an absolute Marathon path such as /dromedar/drillbits')
            .default('/dromedar/drillbits'),
          // HTTP basic auth, or a DC/OS ACS token (sent as `Authorization: token=...`).
          user: z.string().min(1).optional(),
          password: z.string().optional(),
          token: z.string().min(1).optional(),
          // Resources of one Drillbit task; `mem` (MB) must hold heap + directMemory + JVM overhead.
          cpus: z.number().min(0.001).default(2),
          mem: z.number().positive().default(4096),
          disk: z.number().nonnegative().default(0),
          heap: memory.default('1G'),
          directMemory: memory.default('2G'),
          jvmOptions: z.array(z.string()).default([]),
          // `java` on the agents; unset: $JAVA_HOME/bin/java, else java on the PATH (a JDK 17+).
          java: z.string().min(1).optional(),
          // Drill on the agents: pre-installed, or e.g. "$MESOS_SANDBOX/apache-drill-1.22.0" when fetched.
          drillHome: z.string().min(1).default('/opt/drill'),
          fetch: z
            .array(
              z.object({
                uri: z.string().min(1),
                extract: z.boolean().default(true),
                executable: z.boolean().default(false),
                cache: z.boolean().default(false),
                destPath: z.string().min(1).optional(),
              }),
            )
            .default([]),
          // A folder in the sandbox (e.g. from a fetched archive) whose files join the Drillbit's conf/.
          siteConf: z.string().min(1).optional(),
          // Where the Drillbit listens; it advertises $HOST. MESOS_HTTP checks need loopback, so 0.0.0.0.
          bindAddress: z.string().min(1).default('0.0.0.0'),
          zkConnect: z.string().min(1).default('localhost:2181'),
          clusterId: z.string().regex(/^[\w-]+$/).default('dromedar'),
          constraints: z.array(z.array(z.string()).min(2).max(3)).default([]),
          // SIGTERM runs Drill's shutdown (it finishes running queries); SIGKILL after this.
          taskKillGracePeriodSeconds: z.number().int().nonnegative().default(60),
          labels: z.record(z.string(), z.string()).default({}),
          healthCheck: z
            .object({
              protocol: z.enum(['MESOS_HTTP', 'HTTP']).default('MESOS_HTTP'),
              gracePeriodSeconds: z.number().int().nonnegative().default(300),
              intervalSeconds: z.number().int().positive().default(10),
              timeoutSeconds: z.number().int().positive().default(5),
              maxConsecutiveFailures: z.number().int().nonnegative().default(3),
            })
            .prefault({}),
          // The container each Drillbit runs in: its only host paths are the workspace roots
          // (read-only unless writable); MESOS is the Mesos containerizer (UCR), NONE runs on the agent's root.
          container: z
            .object({
              type: z.enum(['MESOS', 'DOCKER', 'NONE']).default('MESOS'),
              image: z.string().min(1).default('eclipse-temurin:17-jdk'),
              forcePullImage: z.boolean().default(false),
            })
            .prefault({}),
          // Marathon's rolling restart of the Drillbits app (an operator's restart or config change).
          upgradeStrategy: z
            .object({ minimumHealthCapacity: z.number().min(0).max(1).default(1), maximumOverCapacity: z.number().min(0).max(1).default(1) })
            .prefault({}),
          // Cancel a deployment that locks the app (?force=true) instead of waiting it out.
          force: z.boolean().default(false),
          // How long a change may wait for a deployment that locks the app.
          deploymentTimeoutMs: z.number().int().positive().default(300_000),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type WorkspaceConfig = z.infer<typeof workspace>;
