import { expect, test } from '@playwright/test';
import type { MenuItemConstructorOptions } from 'electron';
import { applicationMenu, type MenuChoices } from './menu.js';

const items = (menu: MenuItemConstructorOptions[], label: string) => (menu.find((item) => item.label === label)?.submenu ?? []) as MenuItemConstructorOptions[];

test('the menu opens windows and toggles the embedded view through the functions given, and offers dev tools only in development', () => {
  const calls: string[] = [];
  const choices: MenuChoices = {
    isMac: false,
    embeddedView: false,
    devTools: false,
    newWindow: () => calls.push('new'),
    toggleEmbeddedView: () => calls.push('embedded'),
  };
  const menu = applicationMenu(choices);
  expect(menu.map((item) => item.label ?? item.role)).toEqual(['File', 'editMenu', 'View', 'windowMenu']);
  (items(menu, 'File')[0]!.click as () => void)();
  const embedded = items(menu, 'View')[0]!;
  expect(embedded).toMatchObject({ label: 'Embedded View', enabled: false });
  (embedded.click as () => void)();
  expect(calls).toEqual(['new', 'embedded']);
  expect(items(menu, 'View').map((item) => item.role)).not.toContain('toggleDevTools');
  expect(items(menu, 'File').map((item) => item.role)).toContain('quit');

  const mac = applicationMenu({ ...choices, isMac: true, embeddedView: true, devTools: true });
  expect(mac[0]).toEqual({ role: 'appMenu' });
  expect(items(mac, 'View')[0]).toMatchObject({ enabled: true });
  expect(items(mac, 'View').map((item) => item.role)).toContain('toggleDevTools');
  expect(items(mac, 'File').map((item) => item.role)).toContain('close');
});
