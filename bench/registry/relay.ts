/**
 * The bench's second baseline: a bare node:http relay that pipes every request to the upstream and every
 * response back, with no parsing, hashing or checks. What it costs over going direct is what any Node
 * process in the path costs on this machine; the front's cost beyond it is ours.
 *   node bench/registry/relay.ts <port> <upstream base URL>
 */
import http from 'node:http';

const [port, upstream] = process.argv.slice(2) as [string, string];
const up = new URL(upstream);
const self = `http://127.0.0.1:${port}`;
const agent = new http.Agent({ keepAlive: true });

http
  .createServer((req, res) => {
    const out = http.request(
      {
        host: up.hostname,
        port: up.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: up.host },
        agent,
      },
      (r) => {
        const headers = { ...r.headers };
        if (headers.location?.startsWith(upstream)) headers.location = self + headers.location.slice(upstream.length);
        res.writeHead(r.statusCode ?? 502, headers);
        r.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  })
  .listen(Number(port), '127.0.0.1', () => process.send?.('ready'));
