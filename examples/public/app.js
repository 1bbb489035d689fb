// The page's behaviour: one call to the API, and the chat room over a websocket.
const apiWhen = document.getElementById('api-when');
const apiResult = document.getElementById('api-result');
fetch('api/hello?name=browser')
  .then((response) => response.json())
  .then((data) => {
    apiResult.textContent = JSON.stringify(data, null, 2);
    apiWhen.textContent = `at ${new Date(data.time).toLocaleTimeString()}`;
  })
  .catch((error) => {
    apiResult.textContent = `the API did not answer: ${error}`;
  });

const status = document.getElementById('chat-status');
const log = document.getElementById('chat-log');
const show = (text) => {
  const line = document.createElement('div');
  line.textContent = text;
  log.append(line);
  log.scrollTop = log.scrollHeight;
};
const socketUrl = new URL('chat/ws', location.href);
socketUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
const socket = new WebSocket(socketUrl);
socket.onopen = () => {
  status.textContent = 'connected';
  status.classList.add('connected');
  socket.send('hello from the example page');
};
socket.onmessage = (event) => show(event.data);
socket.onclose = (event) => {
  status.textContent = `disconnected (${event.code})`;
  status.classList.remove('connected');
};
document.getElementById('chat-form').onsubmit = (event) => {
  event.preventDefault();
  const input = document.getElementById('chat-text');
  if (input.value !== '' && socket.readyState === WebSocket.OPEN) socket.send(input.value);
  input.value = '';
};
