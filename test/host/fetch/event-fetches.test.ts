// The host's side of one event's fetches (issue 12): it trusts nothing the runner sends beyond
// what the event's own request allows, and nothing it started outlives the event.
import { MockAgent } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_EVENT_LIMITS } from "../../../core/limits.js";
import { EventFetches } from "../../../host/fetch/event-fetches.js";
import type { RunRequest } from "../../../host/executor/run-types.js";
import type { FetchAnswerMessage, FetchStartMessage } from "../../../host/executor/runner-protocol.js";
import { botWithMessageHandler, request } from "../../support/sandbox.js";

const API = "https://api.example.org";
const mocks: MockAgent[] = [];
afterEach(async () => {
  await Promise.all(mocks.splice(0).map((mock) => mock.close()));
});

function mockAgent(): MockAgent {
  const mock = new MockAgent();
  mock.disableNetConnect();
  mocks.push(mock);
  return mock;
}

const event = (limits: Partial<RunRequest["limits"]> = {}): RunRequest =>
  request(botWithMessageHandler(""), { fetch: { allowOrigins: [API], allowHttpLoopback: false }, limits: { ...DEFAULT_EVENT_LIMITS, ...limits } });

const ask = (fetchId: number, url: string): FetchStartMessage => ({
  type: "fetch",
  id: 1,
  fetchId,
  request: { url, method: "GET", headers: [] },
  body: undefined,
});

/** Start `message` and wait for its answer. */
const answerOf = (fetches: EventFetches, message: FetchStartMessage) =>
  new Promise<FetchAnswerMessage["outcome"]>((resolve) => fetches.start(message, (reply) => resolve(reply.outcome)));

describe("host fetches of one event", () => {
  it("at fetchesPerEvent the host performs the fetch; one more from a runner that skipped the sandbox's count is refused", async () => {
    const mock = mockAgent();
    mock.get(API).intercept({ path: "/x" }).reply(200, "ok").persist();
    const fetches = new EventFetches(event({ fetchesPerEvent: 2 }), mock);
    expect(await answerOf(fetches, ask(1, `${API}/x`))).toMatchObject({ value: { response: { status: 200 } } });
    expect(await answerOf(fetches, ask(2, `${API}/x`))).toMatchObject({ value: { response: { status: 200 } } });
    expect(await answerOf(fetches, ask(3, `${API}/x`))).toEqual({ error: { code: "E_LIMIT_fetchesPerEvent", message: "more than 2 fetches in one event" } });
    await fetches.close();
  });

  it("the policy is the event's, not the runner's: an origin the event did not allow is refused", async () => {
    const fetches = new EventFetches(event(), mockAgent());
    expect(await answerOf(fetches, ask(1, "https://elsewhere.example/"))).toMatchObject({ error: { code: "E_FETCH_ORIGIN" } });
    await fetches.close();
  });

  it("a fetch still running when the event closes is aborted and never answered", async () => {
    const mock = mockAgent();
    mock.get(API).intercept({ path: "/slow" }).reply(200, "late").delay(10_000);
    const fetches = new EventFetches(event(), mock);
    const answers: unknown[] = [];
    fetches.start(ask(1, `${API}/slow`), (reply) => answers.push(reply));
    await fetches.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answers).toEqual([]);
  });
});
