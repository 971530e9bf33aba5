// The probe: tries what a runner must not be able to do and prints each outcome as one JSON line.
// Run by confine-probe.test.ts under the runner's spawn recipe and without it. CommonJS, node: only,
// so it needs nothing but node and itself in the runner's view.
"use strict";
const fs = require("node:fs");
const net = require("node:net");
const { spawn } = require("node:child_process");

const config = JSON.parse(process.argv[2]);

/** Run `fn`; its result, or the error's code. */
function tryIt(fn) {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error: error.code ?? error.message };
  }
}

/** Open a TCP connection to 127.0.0.1:port; report whether it connected. */
function connect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const done = (outcome) => {
      socket.destroy();
      resolve({ port, ...outcome });
    };
    socket.setTimeout(3000, () => done({ ok: false, error: "timeout" }));
    socket.on("connect", () => done({ ok: true }));
    socket.on("error", (error) => done({ ok: false, error: error.code }));
  });
}

/** Start `count` node children at once; how many forks failed, and how many children came up. */
function fork(count) {
  return new Promise((resolve) => {
    const errors = [];
    const children = [];
    let up = 0;
    for (let i = 0; i < count; i++) {
      const child = spawn(process.execPath, ["-e", "process.stdout.write('up');setTimeout(()=>{},5000)"], { stdio: ["ignore", "pipe", "ignore"] });
      child.on("error", (error) => errors.push(error.code));
      child.stdout?.once("data", () => (up += 1));
      children.push(child);
    }
    setTimeout(() => {
      for (const child of children) child.kill("SIGKILL");
      resolve({ tried: count, up, forkErrors: errors });
    }, config.forkWaitMs);
  });
}

/** Allocate (without touching) chunks of address space up to `target` bytes; how far it got. */
function allocate(target) {
  const chunk = 256 * 1024 * 1024;
  const held = [];
  let bytes = 0;
  let error = null;
  try {
    while (bytes < target) {
      held.push(Buffer.allocUnsafeSlow(chunk));
      bytes += chunk;
    }
  } catch (e) {
    error = e.message;
  }
  held.length = 0;
  return { target, bytes, error };
}

async function main() {
  const out = {
    uid: process.getuid(),
    dataDirVisible: fs.existsSync(config.dataDir),
    readSecret: tryIt(() => fs.readFileSync(config.secretFile, "utf8").length),
    writeOutside: tryIt(() => fs.writeFileSync(config.outsideFile, "escaped")),
    writeTmp: tryIt(() => fs.writeFileSync(config.tmpFile, "escaped")),
    writeScratch: tryIt(() => fs.writeFileSync(`${process.cwd()}/scratch-file`, "fine")),
    connect: [],
    fork: await fork(config.forkChildren),
    allocate: allocate(config.allocateBytes),
  };
  for (const port of config.ports) out.connect.push(await connect(port));
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((error) => {
  process.stdout.write(`${JSON.stringify({ crashed: String(error?.stack) })}\n`);
  process.exitCode = 1;
});
