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
