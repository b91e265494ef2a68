import { Command } from 'commander';
import { configPath, writeConfig } from '../config.ts';
import { CliError, usageError } from '../errors.ts';
import { out, printJson } from '../output.ts';
import { PlatformClient, resolvePlatform } from '../platform.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** `aibomgen login [url]`: checks the platform answers, then stores its URL (and token) for later commands. */
export function loginCommand(): Command {
  return new Command('login')
    .description('store the platform URL and API token for later commands (file mode 0600)')
    .argument('[url]', 'platform URL (default: --server / AIBOMGEN_SERVER / http://127.0.0.1:8080)')
    .option('--token <token>', 'API token (visible in the process list: prefer --token-stdin)')
    .option('--token-stdin', 'read the API token from stdin')
    .option('--json', 'print {server, config, token} as JSON (token: whether one was stored)')
    .addHelpText(
      'after',
      `
The config goes to $AIBOMGEN_CONFIG, else ~/.config/aibomgen/config.json. The token is only ever sent to
the server it was stored with.

Examples:
  aibomgen login http://127.0.0.1:8080
  echo "$TOKEN" | aibomgen login https://aibomgen.example.org --token-stdin
`,
    )
    .action(
      async (url: string | undefined, opts: { token?: string; tokenStdin?: boolean; json?: boolean }, cmd: Command) => {
        if (opts.token && opts.tokenStdin) throw usageError('give --token or --token-stdin, not both');
        const base = resolvePlatform(cmd).baseUrl;
        let server = base;
        if (url) {
          try {
            const u = new URL(url);
            if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
            server = u.toString().replace(/\/+$/, '');
          } catch {
            throw usageError(`${JSON.stringify(url)} is not an http(s) URL`);
          }
        }
        const token = opts.tokenStdin ? await readStdin() : opts.token;
        if (opts.tokenStdin && !token) throw usageError('--token-stdin read an empty token');
        // The platform must answer before anything is stored.
        const client = new PlatformClient({ baseUrl: server, ...(token ? { token } : {}) });
        const health = await client.fetch('/healthz', { headers: { accept: 'application/json' } });
        const body = (await health.json().catch(() => ({}))) as { status?: string };
        if (!health.ok || body.status !== 'ok')
          throw new CliError(`${server} does not answer as an aibomgen platform (/healthz: ${health.status})`);
        const path = configPath();
        writeConfig({ server, ...(token ? { token } : {}) }, path);
        if (opts.json) printJson({ server, config: path, token: !!token });
        else out(`logged in to ${server}${token ? ' with a token' : ''} (saved in ${path})`);
      },
    );
}
