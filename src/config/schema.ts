// The whole configuration of Dromedar, validated in one place. Every section has
// defaults, so an empty file (or none) is a working laptop setup.
import { z } from 'zod';

const memory = z
  .string()
  .regex(/^\d+[KMGkmg]$/, 'a JVM size such as 1G or 1536M');

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
      bodyLimitBytes: z.number().int().positive().default(1024 * 1024),
    })
    .prefault({}),
  drill: z
    .object({
      version: z.literal('1.22.0').default('1.22.0'),
      // An existing Drill installation (DRILL_HOME); when unset, `dromedar drill install` provides one.
      home: z.string().min(1).optional(),
      // Where `dromedar drill install` puts Drill when `home` is unset (default: <home>/drill-<version>).
      installDir: z.string().min(1).optional(),
    })
    .prefault({}),
  storage: z
    .object({
      // Drill's `dfs` plugin as Dromedar gives it to Drill and as sizing reads it: one definition for both.
      workspaces: z.record(z.string().regex(/^[A-Za-z_][\w-]*$/), workspace).default({
        default: { location: '.', writable: false, defaultInputFormat: null },
        data: { location: '.', writable: false, defaultInputFormat: null },
        tmp: { location: '../tmp', writable: true, defaultInputFormat: null },
      }),
    })
    .prefault({}),
  sizing: z
    .object({
      qsf: z.number().positive().default(100),
      qsfMin: z.number().positive().default(0.001),
      qsfMax: z.number().positive().default(1_000_000),
      cacheTtlMs: z.number().int().nonnegative().default(60_000),
      cacheMaxEntries: z.number().int().positive().default(10_000),
    })
    .prefault({}),
  pool: z
    .object({
      minDrillbits: z.number().int().nonnegative().default(0),
      // Unset: derived from the machine's memory and the per-Drillbit footprint.
      maxDrillbits: z.number().int().positive().optional(),
      idleTimeoutMs: z.number().int().nonnegative().default(300_000),
      startTimeoutMs: z.number().int().positive().default(300_000),
      // Queries waiting for Drillbits beyond this many get 503 with Retry-After.
      queueLimit: z.number().int().positive().default(100),
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
        })
        .prefault({}),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type WorkspaceConfig = z.infer<typeof workspace>;
