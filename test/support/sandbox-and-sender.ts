// For test files whose tests run bots' events through a HostService: one sandbox Executor behind
// the host's walls (host-walls.ts), warmed up once for the file, and the identity of the user who
// writes to the bots. Call at the top of the file; the executor closes after the file's tests.
import { afterAll, beforeAll } from "vitest";
import { Executor } from "../../host/executor/executor.js";
import type { BotIdentity } from "../../host/wire/pgp/identity.js";
import { hostLauncher } from "./host-walls.js";
import { newIdentity } from "./user-mail.js";

export interface SandboxAndSender {
  readonly executor: Executor;
  readonly sender: BotIdentity;
}

export function sandboxAndSender(user: string): SandboxAndSender {
  let executor: Executor | undefined;
  let sender: BotIdentity | undefined;
  beforeAll(async () => {
    executor = new Executor({ launcher: await hostLauncher() });
    [sender] = await Promise.all([newIdentity(user), executor.warmUp()]);
  });
  afterAll(async () => {
    await executor?.close();
  });
  const made = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is made in beforeAll: use it inside a test`);
    return value;
  };
  return {
    get executor() {
      return made(executor, "the executor");
    },
    get sender() {
      return made(sender, "the sender");
    },
  };
}
