import type { MenuItemConstructorOptions } from 'electron';

/** What the application menu shows and what its items do, passed in so the menu is built without Electron. */
export interface MenuChoices {
  readonly isMac: boolean;
  /** An embedded page is configured: View > Embedded View is enabled. */
  readonly embeddedView: boolean;
  /** The app runs against the dev server: View > Toggle Developer Tools is offered. */
  readonly devTools: boolean;
  readonly newWindow: () => void;
  readonly toggleEmbeddedView: () => void;
}

/** The application menu: File > New Window, the standard Edit and Window menus, View > Embedded View. */
export function applicationMenu({ isMac, embeddedView, devTools, newWindow, toggleEmbeddedView }: MenuChoices): MenuItemConstructorOptions[] {
  return [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [{ label: 'New Window', accelerator: 'CmdOrCtrl+N', click: newWindow }, { type: 'separator' }, isMac ? { role: 'close' } : { role: 'quit' }],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { label: 'Embedded View', accelerator: 'CmdOrCtrl+E', enabled: embeddedView, click: toggleEmbeddedView },
        { type: 'separator' },
        { role: 'reload' },
        ...(devTools ? [{ role: 'toggleDevTools' as const }] : []),
      ],
    },
    { role: 'windowMenu' },
  ];
}
