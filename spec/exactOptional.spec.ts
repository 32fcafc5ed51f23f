/**
 * The built package in an app with `exactOptionalPropertyTypes` (common in strict codebases):
 * every option an app passes in takes an explicit `undefined` as "not given", as the code treats
 * it. Found in review: `startServer({ dataDir: process.env.DATA_DIR })` failed with TS2379, so
 * such apps wrote conditional spreads. Installed as in `packaging.spec.ts` (`npm run build` first).
 */
import { join } from 'node:path';
import ts from 'typescript';
import { installApp, ROOT, typeCheckApp } from './helpers/installedApp.js';

const ENTRIES = ['index', 'net/index', 'txt/index', 'server/index'].map(entry => join(ROOT, 'dist', `${entry}.d.ts`));

/**
 * Every input type an app fills in, by the name an app knows it by, and how the consumer names it
 * (`core`: `patches-rx`, `net`: `patches-rx/net`, `server`: `patches-rx/server`). Types not
 * exported by name are reached through the function or field that takes them.
 */
const INPUTS: Record<string, string> = {
  PatchesOptions: 'core.PatchesOptions',
  PatchesDocOptions: 'core.PatchesDocOptions',
  'PatchesDoc options': 'NonNullable<ConstructorParameters<typeof core.PatchesDoc>[4]>',
  OpenDocOptions: 'core.OpenDocOptions',
  CloseDocOptions: 'core.CloseDocOptions',
  IndexedDBStoreOptions: 'NonNullable<ConstructorParameters<typeof core.IndexedDBStore>[1]>',
  ApplyPatchOptions: 'core.ApplyPatchOptions',
  ApplyCommittedOptions: 'core.ApplyCommittedOptions<{ n: number }>',
  CreateChangeOptions: 'core.CreateChangeOptions',
  BreakChangesOptions: 'NonNullable<Parameters<typeof core.breakChanges>[2]>',
  BreakChangesIntoBatchesOptions: 'NonNullable<Parameters<typeof core.breakChangesIntoBatches>[1]>',
  BatchChangesOptions: 'NonNullable<Parameters<typeof core.batchChanges>[0]>',
  BackoffRetryConfig: 'core.BackoffRetryConfig<string>',
  SerialGateOptions: 'core.SerialGateOptions<string, string>',
  LivenessConfig: 'core.LivenessConfig',
  OnlineEventTarget: 'NonNullable<Parameters<typeof core.online$>[0]>',
  WakeTarget: 'NonNullable<Parameters<typeof core.wakeups$>[0]>',
  'WakeTarget document': 'NonNullable<NonNullable<Parameters<typeof core.wakeups$>[0]>["document"]>',
  PatchesSyncOptions: 'net.PatchesSyncOptions',
  PatchesConnectionOptions: 'net.PatchesConnectionOptions',
  WebSocketOptions: 'net.WebSocketOptions',
  LivenessOptions: 'net.LivenessOptions',
  SyncTabsOptions: 'NonNullable<net.PatchesSyncOptions["tabs"]>',
  PageLifecycleTarget: 'NonNullable<NonNullable<net.PatchesSyncOptions["tabs"]>["page"]>',
  StartServerOptions: 'server.StartServerOptions',
  ServerOptions: 'server.ServerOptions',
  PerMessageDeflateOptions: 'server.PerMessageDeflateOptions',
  ZlibSettings: 'server.ZlibSettings',
  ServerCoreOptions: 'server.ServerCoreOptions',
  // ServerCore.call takes one from an app's own transport (startServer builds it with undefined fields too).
  Connection: 'server.Connection',
  'MemoryServerStore options': 'NonNullable<ConstructorParameters<typeof server.MemoryServerStore>[0]>',
  FileServerStoreOptions: 'server.FileServerStoreOptions',
  PostgresServerStoreOptions: 'server.PostgresServerStoreOptions',
};

const CONSUMER = `import type * as core from 'patches-rx';
import type * as net from 'patches-rx/net';
import type * as server from 'patches-rx/server';
import { InMemoryStore, Patches } from 'patches-rx';
import { PatchesSync } from 'patches-rx/net';
import { FileServerStore, startServer } from 'patches-rx/server';

/** T as an app fills it from values that may be undefined: every optional field given, typed \`X | undefined\`. */
type Given<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? T[K] | undefined : T[K] };
declare function given<T>(): Given<T>;

// Each line fails (TS2375) naming a field of the type that rejects an explicit undefined.
${Object.values(INPUTS)
  .map((type, i) => `export const input${i}: ${type} = given<${type}>();`)
  .join('\n')}

/** The seed's PatchesSyncOptions, as an app that typed its options from the seed's docs has it. */
interface SeedPatchesSyncOptions {
  subscribeFilter?: (docIds: string[]) => string[];
  websocket?: { protocol?: string | string[] };
  maxPayloadBytes?: number;
  maxStorageBytes?: number;
  sizeCalculator?: core.SizeCalculator;
}
declare const seed: SeedPatchesSyncOptions;
export const fromSeed: net.PatchesSyncOptions = seed;
// @ts-expect-error the check bites: the seed's own declaration rejects an explicit undefined
export const bites: SeedPatchesSyncOptions = given<SeedPatchesSyncOptions>();

/** What the finding's app wrote: options straight from the environment. */
export async function fromEnvironment(env: Record<string, string | undefined>): Promise<void> {
  const server = await startServer({ dataDir: env.DATA_DIR, host: env.HOST, port: env.PORT === undefined ? undefined : Number(env.PORT) });
  const store = new FileServerStore({ directory: env.DATA_DIR ?? 'data', fsync: env.NO_FSYNC === undefined ? undefined : false });
  const patches = new Patches({ store: new InMemoryStore(), defaultAlgorithm: env.LWW ? 'lww' : undefined, docOptions: { maxStorageBytes: undefined } });
  const sync = new PatchesSync(patches, server.url, { websocket: { protocol: env.TOKEN }, liveness: { idleSilence: undefined }, tabs: { name: env.TABS } });
  await patches.openDoc('doc', { algorithm: undefined, metadata: undefined });
  sync.destroy();
  await store.close();
  await server.close();
}
`;

describe('the built package, in an app with exactOptionalPropertyTypes', () => {
  let app: string;
  beforeAll(() => {
    app = installApp('exact-optional', CONSUMER);
  });

  it('should take an explicit undefined for every optional option an app passes in', async () => {
    const compilerOptions = { strict: true, exactOptionalPropertyTypes: true, skipLibCheck: false, noEmit: true, target: 'ES2022', lib: ['ES2022', 'DOM'], types: ['node'], module: 'nodenext', moduleResolution: 'nodenext' };
    await expect(typeCheckApp(app, 'exact', compilerOptions)).resolves.toBeDefined();
  }, 60_000);

  it('should check every exported options, config and settings type', () => {
    const program = ts.createProgram(ENTRIES, { noEmit: true, types: ['node'] });
    const checker = program.getTypeChecker();
    const exported = ENTRIES.flatMap(entry => checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!).map(symbol => symbol.getName()));
    const named = [...new Set(exported)].filter(name => /(Options|Config|Settings)$/.test(name));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter(name => !(name in INPUTS))).toEqual([]);
  });
});
