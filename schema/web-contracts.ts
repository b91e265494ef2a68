/**
 * Writes server/web/static/js/contracts.js, the dashboard's copy of the job states: the page is plain ES
 * modules with no build step, so it cannot import this TypeScript. test/schema/web-contracts.test.ts fails
 * when the committed file differs from what this renders. Regenerate with:
 *   node --import tsx schema/web-contracts.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { jobStates, terminalJobStates } from './job-states.ts';

export const webContractsPath = fileURLToPath(new URL('../server/web/static/js/contracts.js', import.meta.url));

const list = (xs: readonly string[]) => `Object.freeze([${xs.map((x) => `'${x}'`).join(', ')}])`;

export function renderWebContracts(): string {
  return `// Generated from schema/job-states.ts by \`node --import tsx schema/web-contracts.ts\`: do not edit.

/** @typedef {${jobStates.map((s) => `'${s}'`).join(' | ')}} JobState */

/**
 * Every job state, in the order a job moves through them (REST spells them in lower case, GraphQL in upper).
 * @type {readonly JobState[]}
 */
export const jobStates = ${list(jobStates)};

/** @type {readonly JobState[]} */
export const terminalJobStates = ${list(terminalJobStates)};
`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(webContractsPath, renderWebContracts());
  console.log(`wrote ${webContractsPath}`);
}
