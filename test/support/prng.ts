// A small seeded PRNG (mulberry32), so a failing random case can be reproduced from its seed. It
// uses nothing outside itself, so a test can also paste its source into a bot (`${prng}`).

/** Numbers in [0, 1) from `seed`, the same sequence for the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
