// The hottest functions of a V8 CPU profile (a .cpuprofile from PARTS_PROFILE or MICRO_PROFILE):
// self time per function (file:line function), ms, and per source file; the time of the profiled
// run divided by CALLS gives ms per mail. For finding where a part's time goes, not a bench figure.
// Run with: npx vite-node test/bench/profile-top.ts FILE [CALLS] [TOP]
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const short = (url: string) =>
  url
    .replace(/^file:\/\//, "")
    .replace(/^.*\/node_modules\//, "~/")
    .replace(/^.*\/wt-[^/]+\//, "")
    .replace(/^\/work\/main\//, "");

function main(): void {
  const [file, callsText, topText] = process.argv.slice(2);
  if (!file) throw new Error("usage: profile-top.ts FILE [CALLS] [TOP]");
  const calls = Number(callsText ?? 1);
  const top = Number(topText ?? 25);
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time since the sample before: charge it to sample i's node.
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = url ? `${short(url)}:${lineNumber + 1}` : "(native)";
    const key = `${where} ${functionName || "(anonymous)"}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byFile.set(url ? short(url) : functionName, (byFile.get(url ? short(url) : functionName) ?? 0) + us);
    total += us;
  }
  // Inclusive time of the functions under host/ (and openpgp's exported entry points): each sample
  // counts once for every distinct such function on its stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      if (!/\/(host|core)\//.test(url) || /node_modules/.test(url)) continue;
      const key = `${short(url)}:${lineNumber + 1} ${functionName || "(anonymous)"}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  // Self time charged to the nearest caller outside Node and V8 (a package's or this repository's
  // function): what WebCrypto key imports, stream plumbing and Buffer work cost whoever asked for them.
  const owned = new Map<string, number>();
  const ownedPackage = new Map<string, number>();
  for (const [id, us] of selfUs) {
    let at: number | undefined = id;
    while (at !== undefined && !/^file:/.test(byId.get(at)!.callFrame.url)) at = parent.get(at);
    const frame = at === undefined ? undefined : byId.get(at)!.callFrame;
    const key = frame
      ? `${short(frame.url)}:${frame.lineNumber + 1} ${frame.functionName || "(anonymous)"}`
      : `(no caller) ${byId.get(id)!.callFrame.functionName}`;
    owned.set(key, (owned.get(key) ?? 0) + us);
    const pkg = frame ? (/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)?.[1] ?? short(frame.url).split("/").slice(0, 2).join("/")) : key;
    ownedPackage.set(pkg, (ownedPackage.get(pkg) ?? 0) + us);
  }
  const perCall = (us: number) => `${(us / 1000 / calls).toFixed(3).padStart(7)} ms`;
  const list = (map: Map<string, number>) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => `${perCall(us)} ${((us / total) * 100).toFixed(1).padStart(5)} %  ${key}`);
  process.stdout.write(
    [
      `${perCall(total)} sampled per call (${calls} calls)`,
      "",
      "self time by function:",
      ...list(byFunction),
      "",
      "self time by file:",
      ...list(byFile),
      "",
      "self time charged to the nearest package or repository function:",
      ...list(owned),
      "",
      "… by package or folder:",
      ...list(ownedPackage),
      "",
      "inclusive time of host/ and core/ functions (main thread; crypto on the libuv pool shows as idle):",
      ...list(inclusive),
      "",
    ].join("\n"),
  );
}

main();
