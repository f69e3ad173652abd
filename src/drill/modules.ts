// The modules of Drill's official distribution beyond drill-java-exec: the contrib
// jars apache/drill lists in distribution/src/assemble/component.xml (at drill-1.22.0)
// and the sample data behind Drill's documentation (`cp.employee.json`, `cp.tpch/...`).
// `dromedar drill install` resolves the chosen ones from Maven Central together with
// drill-java-exec, under Drill's own dependency management (its root POM), so their
// third-party jars agree with Drill's as in Drill's build.
import type { Config } from '../config/load.js';
import { DromedarError } from '../util/errors.js';

export interface DrillModule {
  /** The name in the `drill.modules` setting: the artifactId. */
  name: string;
  groupId: string;
  /** A fixed version, or null for Drill's own version. */
  version: string | null;
  what: string;
  /** Installed by default (`drill.modules: "default"`). */
  default: boolean;
}

const CONTRIB = 'org.apache.drill.contrib';

// Maven Central serves none of Drill 1.22.0's contrib jars (only its core and drill-jdbc):
// drill-udfs and tpch-sample-data come at 1.21.1, the newest release it serves. The UDF
// jar carries its Java sources (Drill compiles UDFs from them at run time) and calls only
// the UDF API, unchanged in 1.22; the test suite runs its functions (NEARESTDATE) on 1.22.
const NEWEST_SERVED_CONTRIB = '1.21.1';

const module = (groupId: string, name: string, what: string, options: { version?: string; default?: boolean } = {}): DrillModule => ({
  name,
  groupId,
  version: options.version ?? null,
  what,
  default: options.default ?? false,
});

/** Every module of the 1.22 distribution that Dromedar can install, defaults first. */
export const DRILL_MODULES: readonly DrillModule[] = [
  module(CONTRIB, 'drill-udfs', 'contrib UDFs: NEARESTDATE (Superset time grains), crypto, network, geo, user-agent, distance and more', { version: NEWEST_SERVED_CONTRIB, default: true }),
  module(`${CONTRIB}.data`, 'tpch-sample-data', 'TPC-H sample tables as Parquet: cp.`tpch/nation.parquet` ...', { version: NEWEST_SERVED_CONTRIB, default: true }),
  // The distribution carries it through drill-jdbc (exec/jdbc/pom.xml pins 0.4).
  module('net.hydromatic', 'foodmart-data-json', "FoodMart sample data: cp.`employee.json` of Drill's documentation", { version: '0.4', default: true }),
  ...[
    'drill-format-esri', 'drill-format-excel', 'drill-format-hdf5', 'drill-format-httpd', 'drill-format-image', 'drill-format-log',
    'drill-format-ltsv', 'drill-format-msaccess', 'drill-format-pcapng', 'drill-format-pdf', 'drill-format-sas', 'drill-format-spss',
    'drill-format-syslog', 'drill-format-xml', 'drill-deltalake-format', 'drill-iceberg-format',
  ].map((name) => module(CONTRIB, name, `format plugin ${name.replace(/^drill-|-format$|format-/g, '')}`)),
  ...[
    'drill-druid-storage', 'drill-jdbc-storage', 'drill-kudu-storage', 'drill-mongo-storage', 'drill-opentsdb-storage',
    'drill-storage-cassandra', 'drill-storage-elasticsearch', 'drill-storage-googlesheets', 'drill-storage-hbase',
    'drill-storage-http', 'drill-storage', 'drill-storage-kafka', 'drill-storage-phoenix', 'drill-storage-splunk',
  ].map((name) => module(CONTRIB, name, `storage plugin ${name.replace(/^drill-|-storage$|storage-/g, '')}`)),
  module(`${CONTRIB}.storage-hive`, 'drill-storage-hive-core', 'storage plugin hive'),
  module(`${CONTRIB}.storage-hive`, 'drill-hive-exec-shaded', 'Hive execution classes for the hive plugin'),
  module('org.apache.drill.exec', 'drill-jdbc', "Drill's JDBC driver classes"),
  module('org.apache.drill.metastore', 'drill-iceberg-metastore', 'Drill metastore on Iceberg'),
  module('org.apache.drill.metastore', 'drill-mongo-metastore', 'Drill metastore on MongoDB'),
  module('org.apache.drill.metastore', 'drill-rdbms-metastore', 'Drill metastore on a relational database'),
];

export type ModulesSetting = Config['drill']['modules'];

/** The modules a `drill.modules` setting names, in catalogue order; an unknown name is an error naming the known ones. */
export function chosenModules(setting: ModulesSetting): DrillModule[] {
  if (setting === 'default') return DRILL_MODULES.filter((m) => m.default);
  if (setting === 'all') return [...DRILL_MODULES];
  if (setting === 'none') return [];
  const unknown = setting.filter((name) => !DRILL_MODULES.some((m) => m.name === name));
  if (unknown.length > 0) {
    throw new DromedarError('invalid_config', `drill.modules: unknown module ${unknown.join(', ')}; known: ${DRILL_MODULES.map((m) => m.name).join(', ')}`);
  }
  return DRILL_MODULES.filter((m) => setting.includes(m.name));
}

/** Maven coordinates groupId:artifactId:version of a module for this Drill version. */
export function coordinates(m: DrillModule, drillVersion: string): string {
  return `${m.groupId}:${m.name}:${m.version ?? drillVersion}`;
}

/** The <dependency> elements of the runtime POM for these modules. */
export function moduleDependencies(modules: readonly DrillModule[], drillVersion: string): string {
  return modules
    .map(
      (m) => `    <dependency>
      <groupId>${m.groupId}</groupId>
      <artifactId>${m.name}</artifactId>
      <version>${m.version ?? drillVersion}</version>
    </dependency>
`,
    )
    .join('');
}
