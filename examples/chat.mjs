// A websocket chat room as an event app (scope, receive, send).
//
//   npx tsgi --interface event examples/chat.mjs
//
// Open http://127.0.0.1:8000/ in two browser tabs and type. GET / serves the page, /ws is the
// room: every text message a client sends is broadcast to everyone connected. The lifespan
// scope keeps the room in `state`, so each connection's scope.state.room is the same Set.

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>tsgi chat</title>
<style>body{font:16px system-ui;margin:2rem}#log{height:60vh;overflow:auto;border:1px solid #ccc;padding:.5rem}</style>
<h1>tsgi chat</h1>
<div id="log"></div>
<form id="form"><input id="text" autocomplete="off" size="60" autofocus> <button>Send</button></form>
<script>
  const log = document.getElementById('log');
  // Relative to the page, so the room works wherever the app is mounted (/ws, /chat/ws, …).
  const ws = new WebSocket(location.origin.replace(/^http/, 'ws') + location.pathname.replace(/\/?$/, '/') + 'ws');
  const show = (text) => { const line = document.createElement('div'); line.textContent = text; log.append(line); log.scrollTop = log.scrollHeight; };
  ws.onmessage = (event) => show(event.data);
  ws.onclose = (event) => show('[disconnected: ' + event.code + ']');
  document.getElementById('form').onsubmit = (event) => {
    event.preventDefault();
    const input = document.getElementById('text');
    if (input.value !== '') ws.send(input.value);
    input.value = '';
  };
</script>
`;

/** Largest chat line accepted; longer ones are cut (the server's own limit is far higher). */
const MAX_LINE = 2000;

async function lifespan(scope, receive, send) {
  for (;;) {
    const message = await receive();
    if (message.type === 'lifespan.startup') {
      scope.state.room = new Set();
      await send({ type: 'lifespan.startup.complete' });
    } else if (message.type === 'lifespan.shutdown') {
      await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
  }
}

async function http(scope, receive, send) {
  // '' is the mount point itself (/chat under examples/site.mjs).
  const found = (scope.path === '/' || scope.path === '') && (scope.method === 'GET' || scope.method === 'HEAD');
  await send({
    type: 'http.response.start',
    status: found ? 200 : 404,
    headers: [['content-type', found ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8']],
  });
  await send({ type: 'http.response.body', body: found ? PAGE : 'not found\n' });
}

async function chat(scope, receive, send) {
  if (scope.path !== '/ws') {
    await send({ type: 'websocket.close', code: 1008 }); // before accept: the client gets 403
    return;
  }
  const first = await receive();
  if (first.type !== 'websocket.connect') return;
  await send({ type: 'websocket.accept' });
  const room = scope.state.room;
  const name = `guest-${Math.random().toString(36).slice(2, 6)}`;
  const member = { send };
  const broadcast = (text) => {
    for (const other of room) {
      // A member that left between the loop and the send is not an error.
      other.send({ type: 'websocket.send', text }).catch(() => room.delete(other));
    }
  };
  room.add(member);
  broadcast(`* ${name} joined (${room.size} here)`);
  try {
    for (;;) {
      const message = await receive();
      if (message.type === 'websocket.disconnect') break;
      if (message.text !== undefined) broadcast(`${name}: ${message.text.slice(0, MAX_LINE)}`);
    }
  } finally {
    room.delete(member);
    broadcast(`* ${name} left`);
  }
}

async function app(scope, receive, send) {
  if (scope.type === 'lifespan') return lifespan(scope, receive, send);
  if (scope.type === 'http') return http(scope, receive, send);
  if (scope.type === 'websocket') return chat(scope, receive, send);
}
app.tsgiInterface = 'event';

export { app };
