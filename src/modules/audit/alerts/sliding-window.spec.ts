import { describe, expect, it } from 'vitest';
import { SlidingWindowCounter } from './sliding-window.js';

const WINDOW = 60_000;

describe(SlidingWindowCounter.name, () => {
  describe('hit', () => {
    it('should alert on the hit that reaches the threshold, with the count', () => {
      const counter = new SlidingWindowCounter(3, WINDOW);
      expect(counter.hit('a', 0)).toBeUndefined();
      expect(counter.hit('a', 1_000)).toBeUndefined();
      expect(counter.hit('a', 2_000)).toBe(3);
    });

    it('should alert only once per subject while the window of its alert lasts', () => {
      const counter = new SlidingWindowCounter(3, WINDOW);
      const alerts = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => counter.hit('a', i * 1_000)).filter((n) => n !== undefined);
      expect(alerts).toEqual([3]);
    });

    it('should alert again once a whole window passed since the last alert and the burst goes on', () => {
      const counter = new SlidingWindowCounter(2, WINDOW);
      expect(counter.hit('a', 0)).toBeUndefined();
      expect(counter.hit('a', 1_000)).toBe(2);
      expect(counter.hit('a', WINDOW)).toBeUndefined();
      expect(counter.hit('a', WINDOW + 999)).toBeUndefined();
      expect(counter.hit('a', WINDOW + 1_000)).toBe(2);
    });

    it('should not count hits that slid out of the window', () => {
      const counter = new SlidingWindowCounter(3, WINDOW);
      counter.hit('a', 0);
      counter.hit('a', 1_000);
      // The hit at 0 is exactly one window old: out.
      expect(counter.hit('a', WINDOW)).toBeUndefined();
      expect(counter.hit('a', WINDOW + 500)).toBe(3);
    });

    it('should not alert for a slow trickle that never reaches the threshold within one window', () => {
      const counter = new SlidingWindowCounter(3, WINDOW);
      const alerts = Array.from({ length: 50 }, (_, i) => counter.hit('a', i * (WINDOW / 2))).filter(
        (n) => n !== undefined,
      );
      expect(alerts).toEqual([]);
    });

    it('should count subjects apart', () => {
      const counter = new SlidingWindowCounter(2, WINDOW);
      expect(counter.hit('a', 0)).toBeUndefined();
      expect(counter.hit('b', 1)).toBeUndefined();
      expect(counter.hit('a', 2)).toBe(2);
      expect(counter.hit('b', 3)).toBe(2);
    });

    it('should alert at once with a threshold of one, and once per window', () => {
      const counter = new SlidingWindowCounter(1, WINDOW);
      expect(counter.hit('a', 0)).toBe(1);
      expect(counter.hit('a', 10)).toBeUndefined();
      expect(counter.hit('a', WINDOW)).toBe(1);
    });

    it('should stay bounded under a flood of subjects, forgetting the least recently hit', () => {
      const counter = new SlidingWindowCounter(2, WINDOW, 100);
      for (let i = 0; i < 10_000; i++) counter.hit(`subject-${i}`, i);
      expect(counter.size).toBe(100);
      counter.hit('subject-9999', 10_001);
      expect(counter.hit('subject-9999', 10_002)).toBeUndefined();
    });
  });

  describe('prune', () => {
    it('should forget subjects whose hits and alert are out of the window', () => {
      const counter = new SlidingWindowCounter(2, WINDOW);
      counter.hit('quiet', 0);
      counter.hit('alerted', 0);
      counter.hit('alerted', WINDOW / 2);
      counter.prune(WINDOW + 1);
      expect(counter.size).toBe(1);
      counter.prune(WINDOW / 2 + WINDOW);
      expect(counter.size).toBe(0);
    });

    it('should let a forgotten subject alert again for a new burst', () => {
      const counter = new SlidingWindowCounter(2, WINDOW);
      counter.hit('a', 0);
      expect(counter.hit('a', 1)).toBe(2);
      counter.prune(2 * WINDOW);
      expect(counter.size).toBe(0);
      expect(counter.hit('a', 2 * WINDOW)).toBeUndefined();
      expect(counter.hit('a', 2 * WINDOW + 1)).toBe(2);
    });
  });
});
