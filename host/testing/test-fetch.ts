// The test side of fetch replay: what `bot.fetch.on(url, …)` records, in the shape the sandbox
// answers from (HostFetchSettings.recorded, which stays in the host process). The sandbox never reaches the network in a test.
import { ChatbotError } from "../../core/errors.js";
import type { RecordedFetch } from "../executor/run-types.js";
import { recordingKey } from "../fetch/recording-key.js";
import type { RecordedResponse, TestFetch } from "./api.js";

/** A TestFetch and the recordings to hand to each event. */
export interface TestFetchRecorder extends TestFetch {
  recordings(): RecordedFetch[];
}

/** An empty set of recorded responses. */
export function createTestFetch(): TestFetchRecorder {
  const byUrl = new Map<string, RecordedFetch>();
  return {
    on(url, response) {
      let key: string;
      try {
        key = recordingKey(url);
      } catch {
        throw new ChatbotError("E_USAGE", `chatbot/testing: bot.fetch.on(${JSON.stringify(url)}): not an absolute URL`);
      }
      byUrl.set(key, toRecording(key, typeof response === "string" ? { body: response } : response));
    },
    clear() {
      byUrl.clear();
    },
    recordings: () => [...byUrl.values()],
  };
}

function toRecording(url: string, response: RecordedResponse): RecordedFetch {
  const body = response.body ?? "";
  const headers = Object.fromEntries(Object.entries(response.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  // A text body is what most tests record; say so, as a server would.
  if (typeof body === "string" && headers["content-type"] === undefined) headers["content-type"] = "text/plain; charset=utf-8";
  const status = response.status ?? 200;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new ChatbotError("E_USAGE", `chatbot/testing: bot.fetch.on(${JSON.stringify(url)}): status ${status} is not an HTTP status 200-599`);
  }
  const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return { url, status, headers, bodyBase64: bytes.toString("base64") };
}
