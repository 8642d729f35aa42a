/**
 * An oidc-provider adapter that keeps every model (grants, refresh and access tokens, sessions)
 * in one JSON file, so the dev server's sessions survive its restart. Written whole, atomically
 * (a temporary file renamed over it), on every change: a dev server's load.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { Adapter } from 'oidc-provider';

interface Entry {
  readonly payload: Record<string, unknown>;
  /** Epoch ms after which the entry is gone; absent: kept until destroyed. */
  readonly expiresAt?: number;
}

export interface FileAdapterStore {
  /** oidc-provider's `adapter` option; `retainSeconds` keeps a model's entries that long past their expiry. */
  adapter(model: string, retainSeconds?: number): Adapter;
  /** Entries read from the file at start (0 when it was absent or unreadable). */
  readonly loaded: number;
}

export function openFileAdapterStore(file: string): FileAdapterStore {
  let entries: Record<string, Entry> = {};
  if (existsSync(file)) {
    try {
      entries = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Entry>;
    } catch {
      entries = {};
    }
  }
  const loaded = Object.keys(entries).length;
  const save = () => {
    writeFileSync(`${file}.tmp`, JSON.stringify(entries));
    renameSync(`${file}.tmp`, file);
  };
  const live = (key: string): Entry | undefined => {
    const entry = entries[key];
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      delete entries[key];
      return undefined;
    }
    return entry;
  };

  return {
    loaded,
    adapter(model, retainSeconds = 0) {
      const keyOf = (id: string) => `${model}:${id}`;
      const findBy = (field: string, value: string) =>
        Object.keys(entries).find((key) => key.startsWith(`${model}:`) && live(key)?.payload[field] === value);
      return {
        async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
          entries[keyOf(id)] = { payload, ...(typeof expiresIn === 'number' && { expiresAt: Date.now() + (expiresIn + retainSeconds) * 1000 }) };
          save();
        },
        async find(id: string) {
          return live(keyOf(id))?.payload;
        },
        async findByUid(uid: string) {
          const key = findBy('uid', uid);
          return key === undefined ? undefined : entries[key]?.payload;
        },
        async findByUserCode(userCode: string) {
          const key = findBy('userCode', userCode);
          return key === undefined ? undefined : entries[key]?.payload;
        },
        async consume(id: string) {
          const entry = live(keyOf(id));
          if (entry) entry.payload['consumed'] = Math.floor(Date.now() / 1000);
          save();
        },
        async destroy(id: string) {
          delete entries[keyOf(id)];
          save();
        },
        async revokeByGrantId(grantId: string) {
          for (const key of Object.keys(entries)) if (entries[key]?.payload['grantId'] === grantId) delete entries[key];
          save();
        },
      };
    },
  };
}
