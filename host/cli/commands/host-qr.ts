// `chatbot host qr ADDR`: the bot's invite link and QR code, for people to scan with Delta Chat.
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { isCanonicalAddress, localPartOf } from "../../../core/address.js";
import { readJsonFile, writeJsonFile } from "../../storage/json-file.js";
import { ChatbotError } from "../../../core/errors.js";
import { openBotAccount } from "../../wire/bot-account.js";
import { newGroupId } from "../../wire/group-store.js";
import { inviteLink } from "../../wire/securejoin/invite-link.js";
import { qrMatrix } from "../../qr/qr-matrix.js";
import { qrToPng } from "../../qr/qr-png.js";
import { qrToTerminal } from "../../qr/qr-terminal.js";
import { parseCommandArgs } from "../args.js";
import { DEFAULT_DATA_DIR, dataDirFrom } from "../../service/paths.js";
import { EXIT, type CliIo, type Command } from "../command.js";

const HELP = `Usage: chatbot host qr ADDR [--name NAME] [--group NAME] [--png FILE] [--json] [--data-dir DIR]

Print the invite link and QR code of the bot account ADDR. Scanning it with Delta Chat starts
SecureJoin with the host, which answers for the bot; afterwards the person's messages reach the
bot end-to-end encrypted and the bot shows as verified. The bot's key is created on first use
and never changes (a contact is address + key).

Options:
  --name NAME      the name people see for the bot; remembered (default: the last name given,
                   else the address's local part)
  --group NAME     an invite into the bot's group called NAME (created if the bot has none)
  --png FILE       also write the QR code as a PNG image
  --json           print {"link", "fingerprint", "groupId"?} instead of the QR code
  --data-dir DIR   the host's data folder (default: $CHATBOT_DATA_DIR or ${DEFAULT_DATA_DIR})
  -h, --help       show this help

Example:
  chatbot host qr echobot01@chat.example.org --name "Echo Bot" --png echo.png
`;

async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "host qr",
    args,
    { name: { type: "string" }, group: { type: "string" }, png: { type: "string" }, json: { type: "boolean" }, "data-dir": { type: "string" } },
    1,
  );
  const addr = positionals[0]?.toLowerCase();
  if (!addr) throw new ChatbotError("E_USAGE", "chatbot host qr: give the bot's address, e.g. chatbot host qr echobot01@chat.example.org");
  if (!isCanonicalAddress(addr)) throw new ChatbotError("E_USAGE", `chatbot host qr: "${positionals[0]}" is not an email address`);
  const dataDir = dataDirFrom(io.cwd, values["data-dir"]);
  // The name is remembered: an invite printed later must show the same bot name.
  const profileFile = join(dataDir, "bots", addr, "profile.json");
  const saved = await readJsonFile<{ name?: string }>(profileFile, {});
  const name = values.name ?? saved.name ?? localPartOf(addr);
  const account = await openBotAccount(dataDir, addr, name);
  if (saved.name !== name) await writeJsonFile(profileFile, { ...saved, name });

  let group: { id: string; name: string } | undefined;
  if (values.group !== undefined) {
    const groupName = values.group.trim();
    if (groupName === "") throw new ChatbotError("E_USAGE", "chatbot host qr: --group needs a name");
    const existing = await account.groups.findByName(groupName);
    const stored = existing ?? (await account.groups.update(newGroupId(), (g) => ({ ...g, name: groupName })));
    group = { id: stored.id, name: stored.name };
  }
  const tokens = await account.tokens.forInvite(group?.id);
  const link = inviteLink({
    fingerprint: account.identity.fingerprint,
    addr,
    name,
    invitenumber: tokens.invitenumber,
    auth: tokens.auth,
    ...(group ? { group } : {}),
  });
  const matrix = qrMatrix(link);
  if (values.png !== undefined) await writeFile(resolve(io.cwd, values.png), qrToPng(matrix));

  if (values.json) {
    io.stdout(`${JSON.stringify({ link, fingerprint: account.identity.fingerprint, ...(group ? { groupId: group.id } : {}) })}\n`);
    return EXIT.ok;
  }
  io.stdout(qrToTerminal(matrix));
  io.stdout(`\n${group ? `Join the group "${group.name}" of` : "Chat with"} ${name} <${addr}>: scan the code with Delta Chat, or open\n${link}\n`);
  io.stdout(`fingerprint ${account.identity.fingerprint.replace(/(.{4})/g, "$1 ").trim()}\n`);
  if (values.png !== undefined) io.stdout(`QR code written to ${values.png}\n`);
  return EXIT.ok;
}

export const hostQrCommand: Command = {
  path: ["host", "qr"],
  summary: "print a bot account's invite link and QR code (--png FILE for an image)",
  help: HELP,
  run,
};
