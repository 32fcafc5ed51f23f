/** A seeded source of uniform numbers in [0, 1), with the helpers the fuzz draws from it. */
export interface Rng {
  /** The next number in [0, 1). */
  (): number;
  /** An integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** A key of `weights`, chosen with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K;
}

/**
 * mulberry32: a 32-bit seeded PRNG, small and good enough to drive a fuzz reproducibly.
 * The fuzz never touches `Math.random`; every random decision comes from one of these.
 *
 * ## Example
 * ```ts
 * const rng = mulberry32(42);
 * rng.int(1, 6); // the same roll for seed 42, every run
 * ```
 *
 * @param seed any 32-bit integer
 * @return the generator
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Object.assign(next, {
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    chance: (p: number) => next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
    weighted: <K extends string>(weights: Readonly<Record<K, number>>): K => {
      const entries = Object.entries(weights) as [K, number][];
      let roll = next() * entries.reduce((sum, [, w]) => sum + w, 0);
      for (const [key, weight] of entries) {
        roll -= weight;
        if (roll < 0) return key;
      }
      return entries[entries.length - 1][0];
    },
  });
}

/**
 * An independent generator for one purpose, derived from a seed and a label. Each proxy and
 * client gets its own, so network timing (how many chunks a proxy sees) never shifts the
 * random script of actions drawn from the main generator.
 *
 * @param seed the run's seed
 * @param label what the stream is for, e.g. `proxy-3`
 */
export function forkRng(seed: number, label: string): Rng {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
  return mulberry32(h);
}
