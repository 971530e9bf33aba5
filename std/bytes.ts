// Bytes <-> strings inside the isolate, through the host (QuickJS has no TextEncoder).
import type { HostFunctions } from "./contract.js";

/** An ArrayBuffer holding exactly the given data (a copy when it is a view of a larger buffer). */
export function toArrayBuffer(host: HostFunctions, data: Uint8Array | ArrayBuffer | string): ArrayBuffer {
  if (typeof data === "string") return host.utf8Encode(data);
  if (data instanceof ArrayBuffer) return data;
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) {
    return data.buffer;
  }
  return data.slice().buffer as ArrayBuffer;
}
