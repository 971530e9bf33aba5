// What `detectWalls` found: one line per layer of a runner's confinement, up or down, why, and the fix.

/** The layers of a runner's confinement (issue 12), in the order they are reported. */
export const WALL_LAYERS = ["network", "filesystem", "identity", "resources", "cgroup", "lifetime"] as const;
export type WallLayer = (typeof WALL_LAYERS)[number];

/** One layer: whether it works here (tried for real), why, and what an operator can do when it does not. */
export interface WallReport {
  layer: WallLayer;
  up: boolean;
  /** What was tried and what happened, in a sentence. */
  why: string;
  /** What an operator can do to bring the layer up ("" when it is up). */
  fix: string;
}
