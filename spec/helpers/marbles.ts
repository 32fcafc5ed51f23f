import { TestScheduler } from 'rxjs/testing';

/** What an error is compared by: its class name, message and own enumerable fields (code, data…). */
export interface ErrorShape {
  name: string;
  message: string;
  fields: Record<string, unknown>;
}

/** Reduces an Error to the facts a spec asserts on, so two errors compare by name and message. */
export function errorShape(error: Error): ErrorShape {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(error)) {
    if (key !== 'name' && key !== 'message' && key !== 'stack') fields[key] = (error as unknown as Record<string, unknown>)[key];
  }
  return { name: error.name, message: error.message, fields };
}

/** Replaces every Error inside a value (marble frames, notifications) with its `errorShape`. */
export function normalizeErrors(value: unknown): unknown {
  if (value instanceof Error) return errorShape(value);
  if (Array.isArray(value)) return value.map(normalizeErrors);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = normalizeErrors(inner);
    return out;
  }
  return value;
}

/**
 * A fresh TestScheduler whose assertions compare errors by class name, message and fields
 * (Jest's `toEqual` alone ignores an Error's class and extra fields).
 */
export function createTestScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(normalizeErrors(actual)).toEqual(normalizeErrors(expected));
  });
}

/**
 * A virtual clock for code that waits on a scheduler between real events (a retry after a store
 * read failed): `flush()` runs every wait due, however far ahead; `actions` lists those waiting.
 */
export function virtualTime(): TestScheduler {
  const scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  scheduler.maxFrames = Number.POSITIVE_INFINITY;
  return scheduler;
}
