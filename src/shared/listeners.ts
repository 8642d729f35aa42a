/**
 * A set of listeners of one kind of value. Every `add` is its own registration:
 * its unsubscribe function removes that one and no other, and calling it twice
 * is harmless. The functions use no `this`: they may be passed on as they are.
 */
export interface ListenerSet<T> {
  /** Registers `listener`; returns the function that removes this registration. */
  add(listener: (value: T) => void): () => void;
  /**
   * Calls every listener registered when `emit` starts, in the order they were added.
   * A listener that throws is reported as an unhandled rejection, and the others still run.
   */
  emit(value: T): void;
  /** Removes every registration. */
  clear(): void;
  /** The number of registrations. */
  readonly size: number;
}

/** An empty listener set. */
export function createListenerSet<T>(): ListenerSet<T> {
  // One object per registration, so the same function added twice is two registrations.
  const registrations = new Set<{ readonly listener: (value: T) => void }>();
  return {
    add(listener) {
      const registration = { listener };
      registrations.add(registration);
      return () => {
        registrations.delete(registration);
      };
    },
    emit(value) {
      for (const { listener } of [...registrations]) {
        try {
          listener(value);
        } catch (failure) {
          void Promise.reject(failure); // a faulty listener is reported, and the others still run
        }
      }
    },
    clear() {
      registrations.clear();
    },
    get size() {
      return registrations.size;
    },
  };
}
