'use strict';

// The renderer's only door to the client: a small API on `window.agent`, over IPC. The renderer
// never touches the network, the token or the native addon.

function exposeAgentApi({ contextBridge, ipcRenderer }) {
  contextBridge.exposeInMainWorld('agent', {
    /** Calls `listener(event)` for every event the main process forwards, in order. */
    onEvent(listener) {
      ipcRenderer.on('agent:event', (_ipcEvent, event) => listener(event));
    },
    /** The main process client's `stats()`. */
    stats() {
      return ipcRenderer.invoke('agent:stats');
    },
  });
}

if (process.versions.electron && process.type === 'renderer') exposeAgentApi(require('electron'));

module.exports = { exposeAgentApi };
