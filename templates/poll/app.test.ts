// Tests of the poll app itself (the index.html inside poll.xdc): its script runs in a node:vm
// context against a small stand-in for the DOM and for window.webxdc, so voting, changing and
// taking back a vote, live counts and the closed state are checked without a browser.
import { Script, createContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestBot, type TestBot } from "chatbot/testing";

/** Just the DOM the app uses. */
class FakeElement {
  readonly children: FakeElement[] = [];
  readonly attributes = new Map<string, string>();
  readonly style: Record<string, string> = {};
  private readonly clicks: Array<() => void> = [];
  textContent = "";
  className = "";
  type = "";
  disabled = false;
  constructor(readonly tagName: string) {}
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, String(value));
  }
  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  appendChild(child: FakeElement): FakeElement {
    this.children.push(child);
    return child;
  }
  addEventListener(type: string, listener: () => void): void {
    if (type === "click") this.clicks.push(listener);
  }
  /** A click as a browser delivers it: nothing happens on a disabled button. */
  click(): void {
    if (!this.disabled) for (const listener of this.clicks) listener();
  }
  /** The text a screen reader reads: own text and the children's, skipping aria-hidden parts. */
  get text(): string {
    if (this.getAttribute("aria-hidden") === "true") return "";
    return [this.textContent, ...this.children.map((c) => c.text)].filter((t) => t !== "").join(" ");
  }
}

interface Update {
  payload: unknown;
}

/** The app's inline script and its poll JSON, from a poll.xdc the bot made. */
function appParts(xdc: Uint8Array): { script: string; pollJson: string } {
  // The zip is stored (bot.test.ts checks its structure): index.html's text is in it verbatim.
  const html = Buffer.from(xdc).toString("utf8");
  const pollJson = /<script type="application\/json" id="poll-data">(.*?)<\/script>/s.exec(html)?.[1];
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (pollJson === undefined || script === undefined) throw new Error("no poll data or script in index.html");
  return { script, pollJson };
}

/** Open the app as `selfAddr` would: a fresh page, and a webxdc stand-in that records what it sends. */
async function openApp(parts: { script: string; pollJson: string }, selfAddr = "me", history: unknown[] = []) {
  const elements = new Map<string, FakeElement>();
  for (const id of ["question", "options", "total", "status", "poll-data"]) elements.set(id, new FakeElement(id === "options" ? "ul" : "p"));
  elements.get("poll-data")!.textContent = parts.pollJson;
  const sent: Update[] = [];
  let listener: ((update: Update & { serial: number; max_serial: number }) => void) | undefined;
  let serial = 0;
  const webxdc = {
    selfAddr,
    sendUpdate: (update: Update) => sent.push(JSON.parse(JSON.stringify(update)) as Update),
    // Core replays the updates the app has not seen before the returned promise resolves.
    setUpdateListener: (l: typeof listener) => {
      listener = l;
      history.forEach((payload, i) => l!({ payload, serial: i + 1, max_serial: history.length }));
      serial = history.length;
      return Promise.resolve();
    },
  };
  const document = { getElementById: (id: string) => elements.get(id) ?? null, createElement: (tag: string) => new FakeElement(tag) };
  // Timers run when the test says so (runTimers): the app waits between two of its own updates.
  const timers: Array<() => void> = [];
  const setTimeout = (callback: () => void) => timers.push(callback);
  new Script(parts.script).runInContext(createContext({ window: { webxdc }, document, setTimeout }));
  await new Promise((resolve) => setImmediate(resolve)); // the listener's promise: past updates are in

  const buttons = () => elements.get("options")!.children.map((li) => li.children[0]!);
  return {
    sent,
    buttons,
    /** What the page shows: per option its pressed state, label and count; the total line; the status line. */
    view: () => ({
      options: buttons().map((b) => `${b.getAttribute("aria-pressed") === "true" ? "[x]" : "[ ]"} ${b.text}`),
      total: elements.get("total")!.textContent,
      status: elements.get("status")!.textContent,
      disabled: buttons().map((b) => b.disabled),
      question: elements.get("question")!.textContent,
    }),
    /** A status update arriving (from anyone, the bot included), as core hands it to the app. */
    receive(payload: unknown) {
      serial += 1;
      listener!({ payload, serial, max_serial: serial });
    },
    /** Let the app's waiting timers fire. */
    runTimers() {
      for (const callback of timers.splice(0)) callback();
    },
    /** Deliver what the app sent back to it, as core does with a person's own updates. */
    echo() {
      for (const update of sent.splice(0)) this.receive(update.payload);
    },
  };
}

describe("the poll app", () => {
  let bot: TestBot;
  let parts: { script: string; pollJson: string };
  beforeAll(async () => {
    bot = await createTestBot({ dir: new URL(".", import.meta.url) });
    const { messages } = await bot.message("/poll Lunch? | Pizza | Sushi | Salad </script>");
    parts = appParts(messages[0]!.file!.bytes);
  });
  afterAll(async () => {
    await bot?.close();
  });

  it("shows the question and one toggle button per option, none pressed", async () => {
    const app = await openApp(parts);
    expect(app.view()).toEqual({
      question: "Lunch?",
      options: ["[ ] Pizza 0 votes · 0%", "[ ] Sushi 0 votes · 0%", "[ ] Salad </script> 0 votes · 0%"],
      total: "0 votes · Tap an option to vote",
      status: "",
      disabled: [false, false, false],
    });
    expect(app.buttons().map((b) => b.type)).toEqual(["button", "button", "button"]);
  });

  it("a tap sends a vote with the person's selfAddr at once, and the page shows and announces it", async () => {
    const app = await openApp(parts, "me");
    app.buttons()[1]!.click();
    expect(app.sent).toEqual([{ payload: { type: "vote", option: 1, voter: "me" } }]);
    const shown = {
      options: ["[ ] Pizza 0 votes · 0%", "[x] Sushi 1 vote · 100%", "[ ] Salad </script> 0 votes · 0%"],
      total: "1 vote · Tap another option to change your vote, or yours again to take it back",
      status: "You voted for Sushi.",
    };
    expect(app.view()).toMatchObject(shown);
    app.echo();
    expect(app.view()).toMatchObject(shown);
  });

  it("tapping another option changes the vote; tapping yours again takes it back", async () => {
    const app = await openApp(parts, "me");
    app.buttons()[0]!.click();
    app.echo();
    app.buttons()[2]!.click();
    expect(app.view().options).toEqual(["[ ] Pizza 0 votes · 0%", "[ ] Sushi 0 votes · 0%", "[x] Salad </script> 1 vote · 100%"]);
    app.runTimers();
    expect(app.sent).toEqual([{ payload: { type: "vote", option: 2, voter: "me" } }]);
    app.echo();
    app.buttons()[2]!.click();
    app.runTimers();
    expect(app.sent).toEqual([{ payload: { type: "vote", option: null, voter: "me" } }]);
    app.echo();
    expect(app.view()).toMatchObject({
      options: ["[ ] Pizza 0 votes · 0%", "[ ] Sushi 0 votes · 0%", "[ ] Salad </script> 0 votes · 0%"],
      status: "Your vote was taken back.",
    });
  });

  it("quick taps within Delta Chat's update interval go out as one update with the last choice", async () => {
    const app = await openApp(parts, "me");
    app.buttons()[0]!.click();
    app.buttons()[1]!.click();
    app.buttons()[2]!.click();
    expect(app.sent).toHaveLength(1); // the first tap; the others wait for the interval
    expect(app.view().options[2]).toBe("[x] Salad </script> 1 vote · 100%");
    app.runTimers();
    expect(app.sent.map((u) => u.payload)).toEqual([
      { type: "vote", option: 0, voter: "me" },
      { type: "vote", option: 2, voter: "me" },
    ]);
    // Back to the vote already sent before the interval is over: nothing more to send.
    app.echo();
    app.buttons()[1]!.click();
    app.buttons()[2]!.click();
    app.runTimers();
    expect(app.sent).toEqual([]);
    expect(app.view().options[2]).toBe("[x] Salad </script> 1 vote · 100%");
  });

  it("counts everyone's votes live, one per voter, the latest winning, and ignores malformed updates", async () => {
    const app = await openApp(parts, "me");
    app.receive({ type: "vote", option: 0, voter: "ann" });
    app.receive({ type: "vote", option: 0, voter: "ben" });
    app.receive({ type: "vote", option: 1, voter: "ann" });
    for (const bad of [null, "vote", { type: "vote", option: 7, voter: "cid" }, { type: "vote", option: 1 }, { type: "vote", option: 0.5, voter: "dan" }])
      app.receive(bad);
    app.receive({ type: "tally", counts: [9, 9, 9] }); // the bot's tally is for the icon: the app counts itself
    expect(app.view()).toMatchObject({
      options: ["[ ] Pizza 1 vote · 50%", "[ ] Sushi 1 vote · 50%", "[ ] Salad </script> 0 votes · 0%"],
      total: "2 votes · Tap an option to vote",
      status: "",
    });
  });

  it("after the bot closes the poll it shows the bot's final count, marks the winner and takes no votes", async () => {
    const app = await openApp(parts, "me");
    app.receive({ type: "vote", option: 0, voter: "me" });
    app.receive({ type: "closed", counts: [1, 2, 0] });
    app.receive({ type: "vote", option: 2, voter: "late" });
    expect(app.view()).toEqual({
      question: "Lunch?",
      options: ["[x] Pizza 1 vote · 33%", "[ ] Sushi 2 votes · 67%", "[ ] Salad </script> 0 votes · 0%"],
      total: "Poll closed · 3 votes in total",
      status: "The poll was closed.",
      disabled: [true, true, true],
    });
    expect(app.buttons().map((b) => b.className)).toEqual(["", "win", ""]);
    app.buttons()[2]!.click();
    expect(app.sent).toEqual([]);
  });

  it("opened later, it shows the votes so far without announcing them as news", async () => {
    const app = await openApp(parts, "me", [
      { type: "vote", option: 2, voter: "me" },
      { type: "vote", option: 2, voter: "ann" },
    ]);
    expect(app.view()).toMatchObject({ options: ["[ ] Pizza 0 votes · 0%", "[ ] Sushi 0 votes · 0%", "[x] Salad </script> 2 votes · 100%"], status: "" });
  });
});
