import type Docker from 'dockerode';
import { pollSize } from '../output-guard.ts';

/**
 * Watches the size of a running job's /output volume through the engine's disk-usage API (`GET /system/df`,
 * ~20 ms on podman 4.3 here) and calls `over` once it holds more than `maxBytes`: an anonymous volume has no
 * quota of its own, and the output lives in the engine's storage, not on this node's disk.
 */
export function guardVolume(
  docker: Docker,
  volume: string,
  maxBytes: number,
  over: (bytes: number) => void,
  everyMs = 2000,
): { stop(): void } {
  const size = async (): Promise<number> => {
    const df = (await docker.df()) as { Volumes?: { Name: string; UsageData?: { Size?: number } | null }[] };
    return df.Volumes?.find((v) => v.Name === volume)?.UsageData?.Size ?? 0;
  };
  return pollSize(size, maxBytes, over, everyMs);
}
