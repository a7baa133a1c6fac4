import { TtlCache } from './ttl-cache';

const T0 = 1_000_000;

describe('TtlCache', () => {
  it('returns a value until its time to live has passed', () => {
    const cache = new TtlCache<string, number>(2000);
    cache.set('a', 1, T0);
    expect(cache.get('a', T0)).toBe(1);
    expect(cache.get('a', T0 + 1999)).toBe(1);
  });

  it('forgets a value once its time to live has passed', () => {
    const cache = new TtlCache<string, number>(2000);
    cache.set('a', 1, T0);
    expect(cache.get('a', T0 + 2000)).toBeUndefined();
    // An expired entry stays gone, even for a clock read earlier.
    expect(cache.get('a', T0)).toBeUndefined();
  });

  it('restarts the time to live when a key is set again', () => {
    const cache = new TtlCache<string, number>(2000);
    cache.set('a', 1, T0);
    cache.set('a', 2, T0 + 1500);
    expect(cache.get('a', T0 + 3000)).toBe(2);
  });

  it('uses the real clock by default', () => {
    const cache = new TtlCache<string, number>(60_000);
    cache.set('a', 1);
    expect(cache.get('a')).toBe(1);
    expect(cache.get('a', Date.now() + 60_000)).toBeUndefined();
  });

  it('misses a key that was never set', () => {
    expect(new TtlCache<string, number>(1000).get('absent', T0)).toBeUndefined();
  });

  it('caches nothing with a time to live of 0', () => {
    const cache = new TtlCache<string, number>(0);
    cache.set('a', 1, T0);
    expect(cache.get('a', T0)).toBeUndefined();
  });

  it('caches nothing with a negative time to live', () => {
    const cache = new TtlCache<string, number>(-1);
    cache.set('a', 1, T0);
    expect(cache.get('a', T0 - 10)).toBeUndefined();
  });

  it('evicts the oldest entry when the size bound is reached', () => {
    const cache = new TtlCache<string, number>(10_000, 3);
    cache.set('a', 1, T0);
    cache.set('b', 2, T0 + 1);
    cache.set('c', 3, T0 + 2);
    cache.set('d', 4, T0 + 3);
    expect(cache.get('a', T0 + 4)).toBeUndefined();
    expect([cache.get('b', T0 + 4), cache.get('c', T0 + 4), cache.get('d', T0 + 4)]).toEqual([2, 3, 4]);
  });

  it('evicts nothing when a key that is already cached is set again at the size bound', () => {
    const cache = new TtlCache<string, number>(10_000, 2);
    cache.set('a', 1, T0);
    cache.set('b', 2, T0 + 1);
    cache.set('b', 3, T0 + 2);
    expect([cache.get('a', T0 + 3), cache.get('b', T0 + 3)]).toEqual([1, 3]);
  });

  it('counts an entry set again as the newest, so the one written longest ago goes first', () => {
    const cache = new TtlCache<string, number>(10_000, 3);
    cache.set('a', 1, T0);
    cache.set('b', 2, T0 + 1);
    cache.set('a', 3, T0 + 2);
    cache.set('c', 4, T0 + 3);
    cache.set('d', 5, T0 + 4);
    expect(['a', 'b', 'c', 'd'].map((key) => cache.get(key, T0 + 5))).toEqual([3, undefined, 4, 5]);
  });

  it('forgets a deleted key and every key after clear', () => {
    const cache = new TtlCache<string, number>(10_000);
    cache.set('a', 1, T0);
    cache.set('b', 2, T0);
    cache.delete('a');
    expect([cache.get('a', T0), cache.get('b', T0)]).toEqual([undefined, 2]);
    cache.clear();
    expect(cache.get('b', T0)).toBeUndefined();
  });
});
