import WebSocket from 'ws';

// Before a server is measured it must give the right answer for the scenario: the same status
// and bytes as every other server. A fast wrong answer is not a result.
export async function checkAnswer(port, scenario) {
  const path = scenario.checkPath ?? scenario.path;
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: scenario.checkPath ? 'GET' : scenario.method,
    headers: scenario.headers,
    body: scenario.checkPath ? undefined : scenario.body,
    signal: AbortSignal.timeout(10_000),
  });
  const body = Buffer.from(await response.arrayBuffer());
  const problems = [];
  if (response.status !== 200) problems.push(`status ${response.status}, expected 200`);
  const { expect } = scenario;
  if (expect.body !== undefined && !body.equals(expect.body)) {
    problems.push(`body of ${body.length} bytes differs from the expected ${expect.body.length} bytes (${JSON.stringify(body.subarray(0, 40).toString('latin1'))}…)`);
  }
  if (expect.bytes !== undefined && body.length !== expect.bytes) problems.push(`body of ${body.length} bytes, expected ${expect.bytes}`);
  if (problems.length > 0) throw new Error(`wrong answer for ${scenario.name} (${scenario.method} ${path}): ${problems.join('; ')}`);
}

/**
 * ws-echo's check: on one websocket, a text message (with non-ASCII characters) must come back as
 * the same text, a binary one (with bytes that are not UTF-8) as the same bytes.
 */
export async function checkWebSocketAnswer(port, scenario) {
  const url = `ws://127.0.0.1:${port}${scenario.path}`;
  const text = 'tsgi bench check: ✓ ünïcödé';
  const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x80]);
  const problems = [];
  await new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`wrong answer for ${scenario.name} (${url}): no echo within 10 s`));
    }, 10_000);
    const replies = [];
    ws.once('unexpected-response', (_, response) => {
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(`wrong answer for ${scenario.name} (${url}): the upgrade got HTTP ${response.statusCode}, expected 101`));
    });
    ws.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`wrong answer for ${scenario.name} (${url}): ${error.message}`));
    });
    ws.once('open', () => {
      ws.send(text);
      ws.send(bytes, { binary: true });
    });
    ws.on('message', (data, isBinary) => {
      replies.push({ data, isBinary });
      if (replies.length < 2) return;
      clearTimeout(timer);
      const [first, second] = replies;
      if (first.isBinary || first.data.toString('utf8') !== text) problems.push(`the text message came back as ${first.isBinary ? 'binary' : 'text'} ${JSON.stringify(first.data.toString('utf8'))}`);
      if (!second.isBinary || !second.data.equals(bytes)) problems.push(`the binary message came back as ${second.isBinary ? 'binary' : 'text'} <${second.data.toString('hex')}>`);
      ws.close();
      resolve();
    });
  });
  if (problems.length > 0) throw new Error(`wrong answer for ${scenario.name} (${url}): ${problems.join('; ')}`);
}
