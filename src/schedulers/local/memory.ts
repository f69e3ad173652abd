import { totalmem } from 'node:os';

/** Bytes of a JVM size such as "1G" or "1536M". */
export function jvmBytes(size: string): number {
  const match = /^(\d+)([KMGkmg])$/.exec(size);
  if (!match) throw new Error(`not a JVM size: ${size}`);
  const unit = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[match[2]!.toLowerCase() as 'k' | 'm' | 'g'];
  return Number(match[1]) * unit;
}

// Beyond heap and direct memory a JVM needs metaspace, code cache, thread stacks.
const JVM_OVERHEAD = 512 * 2 ** 20;
// Leave the rest of the machine to the OS, the page cache, ZooKeeper and the gateway.
const SHARE_FOR_DRILLBITS = 0.5;

/** How many Drillbits of this size fit on this machine (at least 1). */
export function drillbitsThatFit(heap: string, directMemory: string, machineBytes = totalmem()): number {
  const footprint = jvmBytes(heap) + jvmBytes(directMemory) + JVM_OVERHEAD;
  return Math.max(1, Math.floor((machineBytes * SHARE_FOR_DRILLBITS) / footprint));
}
