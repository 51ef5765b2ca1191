'use strict';

// An Electron agent app: the main process holds the one RealtimeClient (the token and the native
// addon stay there); the renderer gets the agent's events over IPC through preload.js and asks
// for `stats()` the same way.
//
//   npx electron examples/electron-agent/main.js            (VOIPBIN_* variables, as below)
//   node examples/electron-agent/main.js                     (no Electron: IPC stand-in, console)
//
// Under Electron the package loads the Electron build of the addon (see examples/README.md;
// VOIP_REALTIME_NATIVE=<path> selects a binary explicitly). Without VOIPBIN_URL it starts a local
// emulator whose contact centre includes this agent; EXAMPLE_SECONDS (default 5) bounds a run
// under plain Node.

const path = require('node:path');
const { RealtimeClient, Emulator, topic } = require('voip-realtime');

const CUSTOMER_ID = '12345678-1234-4234-8234-123456789012';
const AGENT_ID = '98765432-4321-4321-4321-210987654321';

/**
 * Connects the agent's client and wires it to IPC: every event goes to `webContents` on
 * 'agent:event', and 'agent:stats' answers with `client.stats()`.
 * @param {{ ipcMain: object, webContents: { send: Function } }} ipc
 * @returns {Promise<{ client: RealtimeClient, close(): Promise<void> }>}
 */
async function startAgent({ ipcMain, webContents }) {
  let url = process.env.VOIPBIN_URL;
  let token = process.env.VOIPBIN_TOKEN;
  let customerId = process.env.VOIPBIN_CUSTOMER_ID;
  let agentId = process.env.VOIPBIN_AGENT_ID;
  let emu = null;
  if (!url) {
    emu = await Emulator.start();
    url = emu.url;
    customerId = CUSTOMER_ID;
    agentId = AGENT_ID;
    token = emu.issueToken({ customerId, agentId, permissions: ['agent', 'manager'] });
  }

  const client = new RealtimeClient({ url, token });
  client.on('event', (event) => webContents.send('agent:event', event));
  client.on('error', (err) => console.error(`voip-realtime ${err.code}: ${err.message}`));
  ipcMain.handle('agent:stats', () => client.stats());

  await client.connect();
  await client.subscribe([
    topic.agent(agentId, 'queue'),
    topic.agent(agentId, 'call'),
    topic.customer(customerId, 'message'),
  ]);
  const scenario = emu
    ? emu.scenario('callcenter', { seed: 'electron-agent', rate: 100, durationScale: 0.1, customerId, agentIds: [agentId] })
    : null;

  return {
    client,
    async close() {
      ipcMain.removeHandler('agent:stats');
      if (scenario) scenario.stop();
      await client.close();
      if (emu) await emu.stop();
    },
  };
}

function runElectron(electron) {
  const { app, BrowserWindow, ipcMain } = electron;
  let agent = null;
  app.whenReady().then(async () => {
    const win = new BrowserWindow({
      width: 720,
      height: 560,
      webPreferences: { preload: path.join(__dirname, 'preload.js'), contextIsolation: true, sandbox: true },
    });
    await win.loadFile(path.join(__dirname, 'index.html'));
    agent = await startAgent({ ipcMain, webContents: win.webContents });
  }).catch((err) => {
    console.error(err);
    app.exit(1);
  });
  app.on('window-all-closed', async () => {
    if (agent) await agent.close();
    app.quit();
  });
}

async function runNode() {
  const { createIpc } = require('./ipc-standin.js');
  const { exposeAgentApi } = require('./preload.js');
  const { startRenderer } = require('./renderer.js');
  const ipc = createIpc();
  exposeAgentApi(ipc);
  let shown = 0;
  let received = 0;
  ipc.world.agent.onEvent(() => { received++; });
  startRenderer(ipc.world.agent, (line) => {
    shown++;
    console.log(line);
  });
  const agent = await startAgent(ipc);
  await new Promise((resolve) => setTimeout(resolve, Number(process.env.EXAMPLE_SECONDS ?? 5) * 1000));
  // Asked from the "renderer" side, over IPC, as the Electron window would.
  const stats = await ipc.world.agent.stats();
  await agent.close();
  // Let the last forwarded events reach the renderer before summing up.
  await new Promise((resolve) => setImmediate(resolve));
  console.log(`summary: ${shown} lines from ${received} events over IPC; stats over IPC: ${stats.delivered} delivered`);
}

if (require.main === module) {
  if (process.versions.electron) {
    runElectron(require('electron'));
  } else {
    runNode().catch((err) => {
      console.error(err);
      process.exit(1);
    });
  }
}

module.exports = { startAgent };
