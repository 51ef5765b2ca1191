'use strict';

// A stand-in for Electron's IPC, so that main.js runs (and is tested) under plain Node where
// Electron is not installed. It keeps the properties the example relies on: messages cross
// "processes" as structured clones (what Electron's IPC does), `webContents.send` is
// asynchronous and keeps order, and `ipcRenderer.invoke` reaches the handler registered with
// `ipcMain.handle` and resolves with a clone of its result.

function createIpc() {
  const handlers = new Map();
  const listeners = new Map();
  const world = {};
  const event = { sender: null };

  const ipcMain = {
    handle(channel, handler) {
      if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      handlers.set(channel, handler);
    },
    removeHandler(channel) {
      handlers.delete(channel);
    },
  };

  const webContents = {
    send(channel, ...args) {
      const copy = structuredClone(args);
      setImmediate(() => {
        for (const listener of listeners.get(channel) ?? []) listener(event, ...copy);
      });
    },
  };

  const ipcRenderer = {
    on(channel, listener) {
      if (!listeners.has(channel)) listeners.set(channel, []);
      listeners.get(channel).push(listener);
      return ipcRenderer;
    },
    async invoke(channel, ...args) {
      const handler = handlers.get(channel);
      if (!handler) throw new Error(`No handler registered for '${channel}'`);
      return structuredClone(await handler(event, ...structuredClone(args)));
    },
  };

  const contextBridge = {
    exposeInMainWorld(key, api) {
      world[key] = api;
    },
  };

  return { ipcMain, webContents, ipcRenderer, contextBridge, world };
}

module.exports = { createIpc };
