import { Subscriptions } from '../../src/server/Subscriptions.js';

/** The subscribers of a doc, sorted, as a plain array. */
const followers = (subs: Subscriptions, docId: string): string[] => [...subs.subscribers(docId)].sort();

describe('Subscriptions', () => {
  let subs: Subscriptions;

  beforeEach(() => {
    subs = new Subscriptions();
  });

  it('should start empty: no subscribers, no subscriptions, nothing followed', () => {
    expect(subs.subscribers('d1').size).toBe(0);
    expect(subs.size).toBe(0);
    expect(subs.countFor('c1')).toBe(0);
  });

  describe('add', () => {
    it('should subscribe a connection to each document and return the ids', () => {
      expect(subs.add('c1', ['d1', 'd2'])).toEqual(['d1', 'd2']);
      expect(followers(subs, 'd1')).toEqual(['c1']);
      expect(followers(subs, 'd2')).toEqual(['c1']);
      expect(subs.countFor('c1')).toBe(2);
      expect(subs.size).toBe(2);
    });

    it('should keep the connections of a document apart from those of other documents', () => {
      subs.add('c1', ['d1']);
      subs.add('c2', ['d1', 'd2']);
      expect(followers(subs, 'd1')).toEqual(['c1', 'c2']);
      expect(followers(subs, 'd2')).toEqual(['c2']);
      expect(subs.subscribers('d3').size).toBe(0);
      expect(subs.size).toBe(3);
    });

    it('should count a document subscribed again, or twice in one call, once', () => {
      subs.add('c1', ['d1', 'd1']);
      expect(subs.add('c1', ['d1', 'd2'])).toEqual(['d1', 'd2']);
      expect(subs.countFor('c1')).toBe(2);
      expect(subs.size).toBe(2);
      expect(followers(subs, 'd1')).toEqual(['c1']);
    });

    it('should return a new array, not the one it was given', () => {
      const ids = ['d1'];
      const returned = subs.add('c1', ids);
      expect(returned).not.toBe(ids);
      ids.push('d2');
      expect(returned).toEqual(['d1']);
    });

    it('should subscribe nothing for an empty list', () => {
      expect(subs.add('c1', [])).toEqual([]);
      expect(subs.countFor('c1')).toBe(0);
      expect(subs.size).toBe(0);
    });

    it('should take document ids as they are: inherited member names are ids like any other', () => {
      subs.add('c1', ['constructor', '__proto__', 'toString']);
      expect(followers(subs, 'constructor')).toEqual(['c1']);
      expect(followers(subs, '__proto__')).toEqual(['c1']);
      expect(subs.subscribers('hasOwnProperty').size).toBe(0);
      expect(subs.countFor('c1')).toBe(3);
    });
  });

  describe('remove', () => {
    it('should unsubscribe the connection from those documents only and return the ids', () => {
      subs.add('c1', ['d1', 'd2', 'd3']);
      subs.add('c2', ['d1']);
      expect(subs.remove('c1', ['d1', 'd2'])).toEqual(['d1', 'd2']);
      expect(followers(subs, 'd1')).toEqual(['c2']);
      expect(subs.subscribers('d2').size).toBe(0);
      expect(followers(subs, 'd3')).toEqual(['c1']);
      expect(subs.countFor('c1')).toBe(1);
      expect(subs.size).toBe(2);
    });

    it('should ignore ids the connection does not follow, and connections it does not know', () => {
      subs.add('c1', ['d1']);
      subs.add('c2', ['d2']);
      expect(subs.remove('c1', ['d2', 'nope'])).toEqual(['d2', 'nope']);
      expect(subs.remove('unknown', ['d1'])).toEqual(['d1']);
      expect(followers(subs, 'd1')).toEqual(['c1']);
      expect(followers(subs, 'd2')).toEqual(['c2']);
      expect(subs.size).toBe(2);
    });

    it('should let a connection subscribe again after it unsubscribed', () => {
      subs.add('c1', ['d1']);
      subs.remove('c1', ['d1']);
      expect(subs.countFor('c1')).toBe(0);
      subs.add('c1', ['d1']);
      expect(followers(subs, 'd1')).toEqual(['c1']);
      expect(subs.countFor('c1')).toBe(1);
      expect(subs.size).toBe(1);
    });
  });

  describe('removeConnection', () => {
    it("should drop every subscription of the connection and leave the others'", () => {
      subs.add('c1', ['d1', 'd2']);
      subs.add('c2', ['d2', 'd3']);
      subs.removeConnection('c1');
      expect(subs.subscribers('d1').size).toBe(0);
      expect(followers(subs, 'd2')).toEqual(['c2']);
      expect(followers(subs, 'd3')).toEqual(['c2']);
      expect(subs.countFor('c1')).toBe(0);
      expect(subs.countFor('c2')).toBe(2);
      expect(subs.size).toBe(2);
    });

    it('should do nothing for an unknown connection, or one removed already', () => {
      subs.add('c1', ['d1']);
      subs.removeConnection('c2');
      subs.removeConnection('c1');
      subs.removeConnection('c1');
      expect(subs.size).toBe(0);
      subs.add('c2', ['d1']);
      expect(followers(subs, 'd1')).toEqual(['c2']);
    });

    it('should drop a connection whose documents were all unsubscribed one by one', () => {
      subs.add('c1', ['d1']);
      subs.add('c2', ['d1']);
      subs.remove('c1', ['d1']);
      subs.removeConnection('c1');
      expect(followers(subs, 'd1')).toEqual(['c2']);
      expect(subs.size).toBe(1);
    });
  });

  describe('subscribers', () => {
    it('should not make an entry by being asked: the empty set an unfollowed doc gets stays empty after later adds', () => {
      const none = subs.subscribers('d1');
      subs.add('c1', ['d1']);
      subs.add('c1', ['d2']);
      expect(none.size).toBe(0);
      expect(subs.subscribers('d3').size).toBe(0);
    });
  });

  it('should count one subscription per document per connection across adds and removals', () => {
    subs.add('c1', ['a', 'b', 'c']);
    subs.add('c2', ['a']);
    subs.add('c3', ['b', 'c']);
    subs.remove('c1', ['a']);
    subs.removeConnection('c3');
    subs.add('c2', ['a', 'b']);
    expect(subs.size).toBe(4);
    expect([subs.countFor('c1'), subs.countFor('c2'), subs.countFor('c3')]).toEqual([2, 2, 0]);
    expect([followers(subs, 'a'), followers(subs, 'b'), followers(subs, 'c')]).toEqual([['c2'], ['c1', 'c2'], ['c1']]);
  });
});
