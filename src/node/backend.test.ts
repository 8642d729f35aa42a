import { expect, test } from '@playwright/test';
import type { SessionHint } from '../shared/messages.js';
import { createNoticeListeners } from './backend.js';

test('notice listeners: a hint reaches the listeners of its key only; the last one of a key to leave is announced once', () => {
  const emptied: string[] = [];
  const listeners = createNoticeListeners((sessionKey) => emptied.push(sessionKey));
  const heard: Array<[string, SessionHint]> = [];
  const stopA1 = listeners.listen('a', (hint) => heard.push(['a1', hint]));
  const stopA2 = listeners.listen('a', (hint) => heard.push(['a2', hint]));
  const stopB = listeners.listen('b', (hint) => heard.push(['b', hint]));
  expect([...listeners.keys()]).toEqual(['a', 'b']);
  expect(listeners.size).toBe(2);

  listeners.emit({ sessionKey: 'a', generation: 3 });
  listeners.emit({ sessionKey: 'c', generation: 1 });
  expect(heard).toEqual([
    ['a1', { sessionKey: 'a', generation: 3 }],
    ['a2', { sessionKey: 'a', generation: 3 }],
  ]);

  stopA1();
  expect(emptied).toEqual([]);
  stopA2();
  stopA2();
  expect(emptied).toEqual(['a']);
  expect([...listeners.keys()]).toEqual(['b']);

  // A stale unsubscribe of a key that has listeners again leaves them alone.
  const stopA3 = listeners.listen('a', (hint) => heard.push(['a3', hint]));
  stopA1();
  listeners.emit({ sessionKey: 'a', generation: 4 });
  expect(heard.at(-1)).toEqual(['a3', { sessionKey: 'a', generation: 4 }]);
  stopA3();
  stopB();
  expect(emptied).toEqual(['a', 'a', 'b']);
  expect(listeners.size).toBe(0);
});
