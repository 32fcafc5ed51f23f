import { BehaviorSubject, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { currentThenChanges } from '../../src/util/currentThenChanges.js';

describe('currentThenChanges', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('should give the current value at once, then each change, then complete with the subject', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const subject = new BehaviorSubject('a');
      cold('-b-c|', { b: 'b', c: 'c' }).subscribe(subject);
      expectObservable(currentThenChanges(subject)).toBe('ab-c|', { a: 'a', b: 'b', c: 'c' });
    });
  });

  it('should give a subscriber after the subject completed its last value, then complete', () => {
    // A completed BehaviorSubject gives such a subscriber `complete` alone.
    const subject = new BehaviorSubject(1);
    subject.next(2);
    subject.complete();
    const seen: unknown[] = [];
    currentThenChanges(subject).subscribe({ next: value => seen.push(value), complete: () => seen.push('complete') });
    expect(seen).toEqual([2, 'complete']);
  });

  it('should pass an error on, with no value invented after it', () => {
    const subject = new BehaviorSubject(1);
    const failure = new Error('boom');
    subject.error(failure);
    const seen: unknown[] = [];
    currentThenChanges(subject).subscribe({ next: value => seen.push(value), error: (error: unknown) => seen.push(error) });
    expect(seen).toEqual([failure]);
  });

  it('should hand out no next that reaches the subject', () => {
    const subject = new BehaviorSubject(1);
    const readable = currentThenChanges(subject) as unknown as Partial<Subject<number>>;
    expect(readable.next).toBeUndefined();
  });
});
