/**
 * Preload of embedded views (another origin, another partition). Exposes
 * exactly `window.tokenherdBroker.getAccessToken(provider)`; whether the page
 * gets anything is decided in the main process from the frame's real origin.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { EMBEDDED_BRIDGE_GLOBAL } from '../desktop/ipc-contract.js';
import { createEmbeddedViewBridge } from './bridges.js';

contextBridge.exposeInMainWorld(EMBEDDED_BRIDGE_GLOBAL, createEmbeddedViewBridge(ipcRenderer));
