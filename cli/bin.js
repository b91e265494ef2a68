#!/usr/bin/env node
// The `aibomgen` command. The project runs TypeScript through tsx (no build step); this shim registers it.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);
