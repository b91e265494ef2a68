/** One Server-Sent Events message. */
export interface SseMessage {
  event: string;
  id?: string;
  data: string;
}

/**
 * Parses a text/event-stream body (WHATWG HTML §9.2): `event`, `id`, `data` (multi-line joined by "\n"),
 * comments ignored, a blank line dispatches. Messages with no data are skipped, as browsers do.
 */
export async function* readSse(
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buf = '';
  let event = '';
  let id: string | undefined;
  let data: string[] = [];
  const lineBreak = /\r\n|\n|\r/;
  const take = function* (line: string): Generator<SseMessage> {
    if (line === '') {
      if (data.length > 0)
        yield { event: event || 'message', ...(id !== undefined ? { id } : {}), data: data.join('\n') };
      event = '';
      data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
  };
  for await (const chunk of 'getReader' in body ? chunksOf(body) : body) {
    buf += decoder.decode(chunk, { stream: true });
    for (;;) {
      const m = lineBreak.exec(buf);
      // A lone trailing "\r" may be the first half of "\r\n": wait for the next chunk.
      if (!m || (m[0] === '\r' && m.index === buf.length - 1)) break;
      const line = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      yield* take(line);
    }
  }
  // A message cut off before its blank line is not dispatched (as the spec says): the caller resumes with
  // Last-Event-ID and gets it again whole.
}

async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Ends the underlying request when the caller stops early (e.g. after the terminal event).
    await reader.cancel().catch(() => undefined);
  }
}
