import { pageAway$, pageTarget } from '../../src/streams/pageAway.js';
import { FakePage } from '../helpers/fakePage.js';

describe('pageAway$', () => {
  it('should be away while the page is in the back/forward cache, until its pageshow (also once thawed)', () => {
    const page = new FakePage();
    const seen: boolean[] = [];
    const subscription = pageAway$(page).subscribe(away => seen.push(away));
    page.fire('pagehide', { persisted: true });
    page.freeze(); // a cached page is frozen too
    page.resume(); // thawed first when restored: still not shown
    expect(seen).toEqual([false, true]);
    page.fire('pageshow', { persisted: true });
    expect(seen).toEqual([false, true, false]);
    subscription.unsubscribe();
  });

  it('should be away while the page is frozen, until it resumes', () => {
    const page = new FakePage();
    const seen: boolean[] = [];
    const subscription = pageAway$(page).subscribe(away => seen.push(away));
    page.freeze();
    page.resume();
    page.freeze();
    expect(seen).toEqual([false, true, false, true]);
    subscription.unsubscribe();
  });

  it('should remove every listener on unsubscribe', () => {
    const page = new FakePage();
    const subscription = pageAway$(page).subscribe();
    expect(page.listenerCount).toBe(4);
    subscription.unsubscribe();
    expect(page.listenerCount).toBe(0);
  });

  it('should never be away without a page (null, or Node)', () => {
    const seen: boolean[] = [];
    pageAway$(null).subscribe(away => seen.push(away)).unsubscribe();
    pageAway$().subscribe(away => seen.push(away)).unsubscribe();
    expect(seen).toEqual([false, false]);
  });

  it('should follow the page given, none for null, and the host window for undefined (none in Node)', () => {
    const page = new FakePage();
    expect(pageTarget(page)).toBe(page);
    expect(pageTarget(null)).toBeUndefined();
    expect(pageTarget(undefined)).toBeUndefined();
  });
});
