/** The part of Electron's `BrowserWindow` focusing uses. */
export interface FocusableWindow {
  isDestroyed(): boolean;
  isMinimized(): boolean;
  restore(): void;
  show(): void;
  focus(): void;
}

/**
 * A second launch (`second-instance`): bring the most recently used app window
 * to the front, or open one if none is open (only the hidden background window,
 * or none, on macOS).
 */
export function focusForSecondInstance(windowsMostRecentFirst: readonly FocusableWindow[], openWindow: () => void): 'focused' | 'opened' {
  const target = windowsMostRecentFirst.find((w) => !w.isDestroyed());
  if (!target) {
    openWindow();
    return 'opened';
  }
  if (target.isMinimized()) target.restore();
  target.show();
  target.focus();
  return 'focused';
}
