// Checks of single manifest values that need more than a pattern: origins, contacts, entry paths.
// Each returns what is wrong in words (the caller adds the key path and the value), or nothing.
import { posix, win32 } from "node:path";
import { isContactAddress } from "./address.js";

// http is only for a developer's own machine: `chatbot run` against a local test server.
const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/;
const ENTRY_EXTENSIONS = [".ts", ".mts", ".js", ".mjs"];

/** What is wrong with an origin entry (`https://host[:port]`, http only for loopback), or undefined. */
export function checkOrigin(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an origin like "https://api.example.org"';
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `must use https, not ${url.protocol.replace(/:$/, "")}`;
  if (url.username !== "" || url.password !== "") return "must not contain a user name or password";
  if (url.protocol === "http:" && !LOOPBACK_HOST.test(url.hostname)) {
    return "may use http only for localhost or 127.x.x.x; use https";
  }
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "" || text.endsWith("/")) {
    return `must be only scheme://host[:port], without path, query or trailing slash (write "${url.origin}")`;
  }
  // Same origin, different spelling (upper case, default port, 127.1): ask for the one the host compares.
  if (url.origin !== text) return `must be written as "${url.origin}"`;
  return undefined;
}

/** What is wrong with `author.contact` (an email address or an https URL), or undefined. */
export function checkContact(text: string): string | undefined {
  if (isContactAddress(text)) return undefined;
  try {
    const url = new URL(text);
    if (url.protocol === "https:" && url.hostname !== "") return undefined;
  } catch {
    // Not a URL either; fall through to the message.
  }
  return "must be an email address (you@example.org) or an https URL where the relay operator can reach you";
}

/** The entry path normalized to POSIX form, or what is wrong with it. */
export function checkEntry(text: string): { ok: true; path: string } | { ok: false; fault: string } {
  if (text.trim() === "") return { ok: false, fault: "must not be empty" };
  if (text.includes("\\") || text.includes("\0")) return { ok: false, fault: 'must use "/" between folders' };
  if (posix.isAbsolute(text) || win32.isAbsolute(text)) return { ok: false, fault: "must be relative to the bot folder" };
  const path = posix.normalize(text);
  if (path === ".." || path.startsWith("../")) return { ok: false, fault: "must stay inside the bot folder" };
  if (!ENTRY_EXTENSIONS.some((ext) => path.endsWith(ext))) {
    return { ok: false, fault: `must be a ${ENTRY_EXTENSIONS.join(", ")} file` };
  }
  return { ok: true, path };
}
