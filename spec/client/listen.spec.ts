import { Subject } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { listen } from '../../src/client/listen.js';
import { createTestScheduler } from '../helpers/marbles.js';

describe('listen', () => {
  let testScheduler: TestScheduler;

  beforeEach(() => {
    testScheduler = createTestScheduler();
  });

  it('should call the listener with every value until unsubscribed', () => {
    testScheduler.run(({ hot, expectSubscriptions, flush }) => {
      const source = hot('  -a-b-c-d-');
      const subs = '        ^----!   ';
      const seen: string[] = [];
      const stop = listen(source, value => seen.push(value));
      testScheduler.schedule(() => stop(), 5);
      flush();
      expect(seen).toEqual(['a', 'b']);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('should subscribe at once, delivering a synchronous current value', () => {
    const seen: number[] = [];
    const subject = new Subject<number>();
    const stop = listen(subject, value => seen.push(value));
    expect(subject.observed).toBe(true);
    subject.next(1);
    stop();
    expect(subject.observed).toBe(false);
    subject.next(2);
    expect(seen).toEqual([1]);
  });

  it('should be safe to call the unsubscriber twice', () => {
    const subject = new Subject<number>();
    const stop = listen(subject, () => undefined);
    stop();
    expect(() => stop()).not.toThrow();
    expect(subject.observed).toBe(false);
  });

  it('should keep other listeners receiving values when one is removed', () => {
    const subject = new Subject<string>();
    const a: string[] = [];
    const b: string[] = [];
    const stopA = listen(subject, v => a.push(v));
    listen(subject, v => b.push(v));
    subject.next('x');
    stopA();
    subject.next('y');
    expect(a).toEqual(['x']);
    expect(b).toEqual(['x', 'y']);
  });
});
