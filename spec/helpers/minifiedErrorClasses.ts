import { buildSync } from 'esbuild';

/** An error class as a bundle exports it. */
export type ErrorClass = new (...args: unknown[]) => Error;

/**
 * The error classes the module at `entry` exports, by export name, loaded from a minified bundle
 * of it: what an app's production build does to our classes (esbuild, as the Angular CLI uses it),
 * which renames them.
 *
 * @example
 * const [[exported, ctor]] = minifiedErrorClasses(join(__dirname, '../src/server/stores/RevConflictError.ts'));
 */
export function minifiedErrorClasses(entry: string): Array<[string, ErrorClass]> {
  const { outputFiles } = buildSync({ entryPoints: [entry], bundle: true, minify: true, format: 'cjs', write: false, logLevel: 'silent' });
  const bundled: { exports: Record<string, unknown> } = { exports: {} };
  new Function('module', 'exports', outputFiles[0].text)(bundled, bundled.exports);
  return Object.entries(bundled.exports).filter((entry): entry is [string, ErrorClass] => typeof entry[1] === 'function' && entry[1].prototype instanceof Error);
}

/**
 * What a minified bundle of `entry`, a module exporting one error class, makes of it: the
 * exports that are error classes, whether the bundle renamed the class (else a check of its
 * name proves nothing) and the name of an instance made with `args`.
 *
 * @example
 * minifiedErrorName(join(__dirname, '../src/server/stores/RevConflictError.ts'), 'notes', 4);
 * // { exported: ['RevConflictError'], renamed: true, name: 'RevConflictError' }
 */
export function minifiedErrorName(entry: string, ...args: unknown[]): { exported: string[]; renamed: boolean; name: string } {
  const classes = minifiedErrorClasses(entry);
  const [exported, ctor] = classes[0];
  return { exported: classes.map(([name]) => name), renamed: ctor.name !== exported, name: new ctor(...args).name };
}
