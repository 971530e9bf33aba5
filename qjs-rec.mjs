import { newQuickJSWASMModuleFromVariant } from "quickjs-emscripten-core";
import variant from "@jitl/quickjs-wasmfile-release-sync";
const QuickJS = await newQuickJSWASMModuleFromVariant(variant);
for (const code of [
  `function h() { try { h(); } catch (e) { h(); } } h();`,
  `function g(n){ return n<=0?0:g(n-1)+1 } for(;;) g(1000)`,
  `function h() { h(); } for(;;){ try { h() } catch(e){} }`,
]) {
  const rt = QuickJS.newRuntime();
  rt.setMaxStackSize(256 * 1024);
  const ctx = rt.newContext();
  const t0 = performance.now();
  let polls = 0;
  let first;
  rt.setInterruptHandler(() => {
    polls++;
    const over = performance.now() - t0 > 300;
    if (over && first === undefined) first = performance.now() - t0;
    return over;
  });
  const r = ctx.evalCode(code);
  const err = r.error ? ctx.dump(r.error) : null;
  r.error?.dispose();
  r.value?.dispose();
  console.log(code.slice(0, 30), "ended", Math.round(performance.now() - t0), "firstTrue", Math.round(first), "polls", polls, JSON.stringify(err).slice(0, 80));
  ctx.dispose();
  rt.dispose();
}
