import { MAX_KEPT, StoreAnnouncer } from '../../src/stores/StoreAnnouncer.js';
import { HeldChannelHub } from '../helpers/heldChannels.js';

describe('StoreAnnouncer', () => {
  let hub: HeldChannelHub;

  beforeEach(() => {
    hub = new HeldChannelHub();
  });

  it('should say hello and then post nothing per write while it knows of no other instance', () => {
    const channel = hub.channel();
    const announcer = new StoreAnnouncer(channel);
    announcer.announce({ kind: 'track', docIds: ['a'], algorithm: 'ot' });
    announcer.announce({ kind: 'write', docIds: ['a'] });
    announcer.announce({ kind: 'write', docIds: ['a'] });
    expect(channel.posted).toEqual([{ type: 'hello' }]);
    expect(announcer.knowsPeer).toBe(false);
  });

  it('should post what it kept and then every write at once when it would keep more than MAX_KEPT doc ids alone', () => {
    const channel = hub.channel();
    const announcer = new StoreAnnouncer(channel);
    for (let i = 0; i < MAX_KEPT; i++) announcer.announce({ kind: 'write', docIds: [`doc${i % (MAX_KEPT / 2)}`, `other${i % (MAX_KEPT / 2)}`] });
    expect(channel.posted).toEqual([{ type: 'hello' }]);
    announcer.announce({ kind: 'track', docIds: ['one more'], algorithm: 'ot' });
    expect(channel.posted.length).toBe(3);
    expect(channel.posted[1]).toEqual({ kind: 'write', docIds: expect.arrayContaining(['doc0', `other${MAX_KEPT / 2 - 1}`]) });
    expect((channel.posted[1] as { docIds: string[] }).docIds).toHaveLength(MAX_KEPT);
    expect(channel.posted[2]).toEqual({ kind: 'track', docIds: ['one more'], algorithm: 'ot' });
    announcer.announce({ kind: 'write', docIds: ['later'] });
    expect(channel.posted.slice(3)).toEqual([{ kind: 'write', docIds: ['later'] }]);
    expect(announcer.knowsPeer).toBe(false);
  });

  it("should answer a newcomer's hello with here, then post what it wrote alone, merged by kind", () => {
    const old = hub.channel();
    const announcer = new StoreAnnouncer(old);
    hub.deliverAll();
    announcer.announce({ kind: 'track', docIds: ['a', 'b'], algorithm: 'ot' });
    announcer.announce({ kind: 'write', docIds: ['a'] });
    announcer.announce({ kind: 'track', docIds: ['s'], algorithm: 'lww' });
    announcer.announce({ kind: 'write', docIds: ['b'] });
    announcer.announce({ kind: 'write', docIds: ['a'] });
    announcer.announce({ kind: 'delete', docIds: ['b'] });
    announcer.announce({ kind: 'untrack', docIds: ['c'] });
    expect(old.posted).toEqual([{ type: 'hello' }]);

    const newcomer = hub.channel();
    newcomer.postMessage({ type: 'hello' });
    hub.deliverNext();
    expect(announcer.knowsPeer).toBe(true);
    expect(old.posted.slice(1)).toEqual([
      { type: 'here' },
      { kind: 'track', docIds: ['a', 'b'], algorithm: 'ot' },
      { kind: 'write', docIds: ['a', 'b'] },
      { kind: 'track', docIds: ['s'], algorithm: 'lww' },
      { kind: 'delete', docIds: ['b'] },
      { kind: 'untrack', docIds: ['c'] },
    ]);
  });

  it('should post what it wrote before it heard here, and every later write at once', () => {
    const old = hub.channel();
    const newcomer = hub.channel();
    const announcer = new StoreAnnouncer(newcomer);
    announcer.announce({ kind: 'write', docIds: ['a'] });
    expect(newcomer.posted).toEqual([{ type: 'hello' }]);
    old.postMessage({ type: 'here' });
    hub.deliverAll();
    expect(newcomer.posted).toEqual([{ type: 'hello' }, { kind: 'write', docIds: ['a'] }]);

    announcer.announce({ kind: 'write', docIds: ['a'] });
    announcer.announce({ kind: 'untrack', docIds: ['a'] });
    expect(newcomer.posted.slice(2)).toEqual([
      { kind: 'write', docIds: ['a'] },
      { kind: 'untrack', docIds: ['a'] },
    ]);
  });

  it('should answer every hello, but post its backlog once', () => {
    const channel = hub.channel();
    const announcer = new StoreAnnouncer(channel);
    announcer.announce({ kind: 'write', docIds: ['a'] });
    const second = hub.channel();
    const third = hub.channel();
    second.postMessage({ type: 'hello' });
    third.postMessage({ type: 'hello' });
    hub.deliverAll();
    expect(channel.posted).toEqual([{ type: 'hello' }, { type: 'here' }, { kind: 'write', docIds: ['a'] }, { type: 'here' }]);
  });

  it('should not answer here with here', () => {
    const channel = hub.channel();
    new StoreAnnouncer(channel);
    hub.channel().postMessage({ type: 'here' });
    hub.deliverAll();
    expect(channel.posted).toEqual([{ type: 'hello' }]);
  });

  it('should learn of an instance that never says hello (an older version) from its first announced write', () => {
    const channel = hub.channel();
    const announcer = new StoreAnnouncer(channel);
    announcer.announce({ kind: 'write', docIds: ['a'] });
    hub.deliverAll();
    hub.channel().postMessage({ kind: 'write', docIds: ['x'] });
    hub.deliverAll();
    expect(announcer.knowsPeer).toBe(true);
    expect(channel.posted).toEqual([{ type: 'hello' }, { kind: 'write', docIds: ['a'] }]);
  });

  it('should post what it kept back once as it stops, in case a hello is on its way, and then hear nothing', () => {
    const channel = hub.channel();
    const announcer = new StoreAnnouncer(channel);
    announcer.announce({ kind: 'write', docIds: ['a'] });
    announcer.stop();
    expect(channel.posted).toEqual([{ type: 'hello' }, { kind: 'write', docIds: ['a'] }]);
    hub.channel().postMessage({ type: 'hello' });
    hub.deliverAll();
    expect(channel.posted).toHaveLength(2);
    expect(announcer.knowsPeer).toBe(false);
  });

  it('should post what it kept and the writes under way at once as its page goes away, though it knows of no other instance', () => {
    const channel = hub.channel();
    const announcer = new StoreAnnouncer(channel);
    announcer.announce({ kind: 'write', docIds: ['a'] });
    announcer.announceNow([
      { kind: 'write', docIds: ['b'] },
      { kind: 'delete', docIds: ['c'] },
    ]);
    expect(channel.posted).toEqual([{ type: 'hello' }, { kind: 'write', docIds: ['a'] }, { kind: 'write', docIds: ['b'] }, { kind: 'delete', docIds: ['c'] }]);
    // Back from the cache, still alone: kept back again, and posted once as it stops.
    announcer.announce({ kind: 'write', docIds: ['d'] });
    expect(channel.posted).toHaveLength(4);
    announcer.stop();
    expect(channel.posted.slice(4)).toEqual([{ kind: 'write', docIds: ['d'] }]);
  });

  it('should post nothing as it stops when it kept nothing back', () => {
    const channel = hub.channel();
    new StoreAnnouncer(channel).stop();
    expect(channel.posted).toEqual([{ type: 'hello' }]);
  });

  it('should keep quiet when its channel is closed under it', () => {
    const channel = hub.channel();
    const announcer = new StoreAnnouncer(channel);
    hub.channel().postMessage({ type: 'here' });
    hub.deliverAll();
    channel.close();
    expect(() => announcer.announce({ kind: 'write', docIds: ['a'] })).not.toThrow();
    expect(channel.posted).toEqual([{ type: 'hello' }]);
  });
});
