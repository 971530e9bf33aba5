import { Worker, isMainThread, workerData } from "node:worker_threads";
import { newQuickJSWASMModuleFromVariant, newVariant } from "quickjs-emscripten-core";
import releaseSync from "@jitl/quickjs-wasmfile-release-sync";
import fs from "node:fs";
import { createRequire } from "node:module";
const require = createRequire("/work/main/package.json");
async function run(qjsStack) {
  const wasmModule = await WebAssembly.compile(fs.readFileSync(require.resolve("@jitl/quickjs-wasmfile-release-sync/wasm")));
  const mem = new WebAssembly.Memory({ initial: 256, maximum: 2048 });
  const mod = await newQuickJSWASMModuleFromVariant(newVariant(releaseSync, { wasmModule, wasmMemory: mem }));
  const codes = ["function f(n){return f(n+1)+1}; f(0)", "eval('function g(n){return g(n+1)+1}; g(0)')", "JSON.parse('['.repeat(1e6))", "JSON.stringify(JSON.parse('['.repeat(5000)+']'.repeat(5000))).length", "let o={};for(let i=0;i<100000;i++)o={o};JSON.stringify(o).length", "const p = new Proxy({}, {get(t,k,r){return r[k]}}); p.x", "function h(){ try { h() } catch(e) { h() } } h()", "[1,2].map(function m(){ return [1].map(m) })"];
  for (const code of codes) {
    const rt = mod.newRuntime(); rt.setMaxStackSize(qjsStack); rt.setMemoryLimit(64<<20);
    const dl = Date.now()+2000; rt.setInterruptHandler(()=>Date.now()>dl);
    const ctx = rt.newContext();
    try { const r = ctx.evalCode(code); if (r.error) { const e=ctx.dump(r.error); console.log(code.slice(0,40), "->", e.message ?? e); r.error.dispose(); } else { console.log(code.slice(0,40), "-> ok", ctx.dump(r.value)); r.value.dispose(); } }
    catch (e) { console.log(code.slice(0,40), "HOST THROW", e.constructor.name, e.message); }
    try { ctx.dispose(); rt.dispose(); } catch (e) { console.log("dispose failed", e.message); }
    try { const rt2 = mod.newRuntime(); const c2 = rt2.newContext(); const r = c2.unwrapResult(c2.evalCode("[1,2,3].map(x=>x*2).join()")); console.log("   next:", c2.dump(r)); r.dispose(); c2.dispose(); rt2.dispose(); } catch(e) { console.log("   module broken:", e.message); }
  }
}
if (isMainThread) {
  const [mode, mb, qs] = process.argv.slice(2);
  if (mode === "main") await run(Number(qs));
  else { const w = new Worker(new URL(import.meta.url), { workerData: Number(qs), resourceLimits: { stackSizeMb: Number(mb) } }); w.on("error", e=>console.log("worker error", e.message)); }
} else await run(workerData);
