import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readSse, type SseMessage } from '../../cli/sse.ts';

async function collect(chunks: string[]): Promise<SseMessage[]> {
  const enc = new TextEncoder();
  async function* gen(): AsyncGenerator<Uint8Array> {
    for (const c of chunks) yield enc.encode(c);
  }
  const out: SseMessage[] = [];
  for await (const m of readSse(gen())) out.push(m);
  return out;
}

test('SSE: fields, multi-line data, comments, CRLF split across chunks, ids kept across messages', async () => {
  const msgs = await collect([
    ': hello\r\n',
    'event: state\r\nid: 1\r',
    '\ndata: {"a":1}\r\n\r\n',
    'event: log\ndata: line one\ndata: line two\n\n',
    'data: no event\n\n',
    'event: empty\n\n',
  ]);
  assert.deepEqual(msgs, [
    { event: 'state', id: '1', data: '{"a":1}' },
    { event: 'log', id: '1', data: 'line one\nline two' },
    { event: 'message', id: '1', data: 'no event' },
  ]);
});

test('SSE: a message cut off before its blank line is not dispatched (the reader resumes by id instead)', async () => {
  assert.deepEqual(await collect(['id: 6\ndata: whole\n\n', 'id: 7\ndata: x']), [
    { event: 'message', id: '6', data: 'whole' },
  ]);
});
