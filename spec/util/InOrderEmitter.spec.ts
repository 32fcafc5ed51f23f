import { BehaviorSubject, distinctUntilChanged } from 'rxjs';
import { InOrderEmitter } from '../../src/util/InOrderEmitter.js';

describe('InOrderEmitter', () => {
  let subject: BehaviorSubject<number>;
  let emitter: InOrderEmitter<number>;

  beforeEach(() => {
    subject = new BehaviorSubject(0);
    emitter = new InOrderEmitter<number>(value => subject.next(value));
  });

  it('should emit a value set with no emission under way at once', () => {
    const seen: number[] = [];
    subject.subscribe(n => seen.push(n));
    expect(emitter.latest).toBeUndefined();
    emitter.next(1);
    expect(seen).toEqual([0, 1]);
    expect(emitter.latest).toBe(1);
  });

  it('should emit a value a subscriber sets during an emission after it, to every subscriber, the latest last', () => {
    const first: number[] = [];
    const later: number[] = [];
    const laterDistinct: number[] = [];
    let latestInside: number | undefined;
    subject.subscribe(n => {
      first.push(n);
      if (n !== 1) return;
      emitter.next(2);
      latestInside = emitter.latest;
    });
    subject.subscribe(n => later.push(n));
    subject.pipe(distinctUntilChanged()).subscribe(n => laterDistinct.push(n));
    emitter.next(1);
    expect(latestInside).toBe(2);
    expect(first).toEqual([0, 1, 2]);
    expect(later).toEqual([0, 1, 2]);
    expect(laterDistinct).toEqual([0, 1, 2]);
    expect(subject.value).toBe(2);
  });

  it('should emit only the latest of several values set during one emission, and those set while it is emitted', () => {
    const later: number[] = [];
    subject.subscribe(n => {
      if (n === 1) (emitter.next(2), emitter.next(3));
      if (n === 3) emitter.next(4);
    });
    subject.subscribe(n => later.push(n));
    emitter.next(1);
    expect(later).toEqual([0, 1, 3, 4]);
    expect(emitter.latest).toBe(4);
  });

  it('should emit at once again after an emission that threw', () => {
    const seen: number[] = [];
    subject.subscribe(n => seen.push(n));
    const failing = new InOrderEmitter<number>(value => {
      if (value === 1) throw new Error('emit');
      subject.next(value);
    });
    expect(() => failing.next(1)).toThrow('emit');
    failing.next(2);
    expect(seen).toEqual([0, 2]);
  });

  it('should complete at once with no emission under way, and after the values set meanwhile during one', () => {
    const later: Array<number | 'done'> = [];
    subject.subscribe(n => {
      if (n !== 1) return;
      emitter.next(2); // a listener that disconnects, then tears everything down
      emitter.complete(() => subject.complete());
    });
    subject.subscribe({ next: n => later.push(n), complete: () => later.push('done') });
    emitter.next(1);
    expect(later).toEqual([0, 1, 2, 'done']);
    let completions = 0;
    const idle = new InOrderEmitter<number>(() => undefined);
    idle.complete(() => completions++);
    idle.next(3);
    expect(completions).toBe(1);
  });
});
