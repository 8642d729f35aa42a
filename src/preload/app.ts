/**
 * Preload of app windows (sandboxed, context-isolated). Exposes exactly
 * `window.tokenherdDesktop` (see DesktopAppBridge); never `ipcRenderer`.
 * Bundled to one CommonJS file: a sandboxed preload can require `electron` only.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { DESKTOP_BRIDGE_GLOBAL } from '../desktop/ipc-contract.js';
import { createDesktopAppBridge } from './bridges.js';

contextBridge.exposeInMainWorld(DESKTOP_BRIDGE_GLOBAL, createDesktopAppBridge(ipcRenderer, process.argv));
