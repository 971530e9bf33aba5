// The few WebAssembly globals the host uses. @types/node declares the namespace without them and
// the DOM lib (which has them) must stay out of host code.
declare global {
  namespace WebAssembly {
    class Module {
      constructor(bytes: Uint8Array);
    }
    class Memory {
      constructor(descriptor: { initial: number; maximum?: number });
      readonly buffer: ArrayBuffer;
      grow(deltaPages: number): number;
    }
  }
}
export {};
