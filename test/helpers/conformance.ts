import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface ConformanceResult {
  passed: number;
  failed: number;
  /** Names of the failed tests, from the suite's own log. */
  failures: string[];
  output: string;
}

/** Runs the OCI distribution-spec conformance binary (built by scripts/setup.sh) against `hostPort`. */
export async function runConformance(hostPort: string): Promise<ConformanceResult> {
  const results = await mkdtemp(join(tmpdir(), 'oci-conf-'));
  const bin = resolve('.tools/bin/oci-conformance');
  const env = {
    ...process.env,
    OCI_ROOT_URL: `http://${hostPort}`,
    OCI_NAMESPACE: 'conformance/a',
    OCI_CROSSMOUNT_NAMESPACE: 'conformance/b',
    OCI_TEST_PULL: '1',
    OCI_TEST_PUSH: '1',
    OCI_TEST_CONTENT_DISCOVERY: '1',
    OCI_TEST_CONTENT_MANAGEMENT: '1',
    OCI_VERSION: '1.1',
    OCI_RESULTS_DIR: results,
  };
  try {
    const output = await new Promise<string>((done) => {
      execFile(bin, [], { env, cwd: results, maxBuffer: 64 << 20 }, (_err, stdout, stderr) =>
        done(`${stdout}${stderr}`),
      );
    });
    const num = (label: string) => Number(new RegExp(`^\\s*${label}\\.+:\\s+(\\d+)`, 'm').exec(output)?.[1] ?? NaN);
    const failures = [...output.matchAll(/msg="failed test" name="([^"]+)"/g)].map((m) => m[1]!);
    return { passed: num('Pass'), failed: num('FAIL'), failures, output };
  } finally {
    await rm(results, { recursive: true, force: true });
  }
}
