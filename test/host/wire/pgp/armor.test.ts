import * as openpgp from "openpgp";
import { describe, expect, it } from "vitest";
import { filtermailDearmor } from "../../../../host/wire/filtermail-check.js";
import { armorMessage, dearmorMessage } from "../../../../host/wire/pgp/armor.js";

/** A SEIPDv2 (AEAD) password message with `size` bytes of literal data, and openpgp.js's own armor of it. */
async function seipdV2Message(size: number): Promise<{ binary: Uint8Array; openpgpArmored: string; message: openpgp.Message<Uint8Array> }> {
  const openpgpArmored = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: new Uint8Array(size).fill(7) }),
    passwords: "pw",
    config: { aeadProtect: true, s2kType: openpgp.enums.s2k.iterated },
  });
  const binary = (await openpgp.unarmor(openpgpArmored)).data as Uint8Array;
  return { binary, openpgpArmored, message: await openpgp.readMessage({ binaryMessage: binary }) };
}

const CRC_LINE = /\r\n=[A-Za-z0-9+/]{4}\r\n-----END PGP MESSAGE-----\r\n$/;

describe("armorMessage", () => {
  it("keeps the CRC24 line for a SEIPDv2 message, where openpgp.js's own armor drops it (PROTOCOL §0.1)", async () => {
    const { binary, message, openpgpArmored } = await seipdV2Message(10);
    expect(message.packets.at(-1)).toBeInstanceOf(openpgp.SymEncryptedIntegrityProtectedDataPacket);
    expect((message.packets.at(-1) as unknown as { version: number }).version).toBe(2);
    expect(openpgpArmored).not.toMatch(/\n=[A-Za-z0-9+/]{4}\n-----END/);
    expect(armorMessage(binary)).toMatch(CRC_LINE);
  });

  it("begins exactly with the BEGIN line and an empty header section: no Version, no Comment", async () => {
    const armored = armorMessage((await seipdV2Message(10)).binary);
    expect(armored.startsWith("-----BEGIN PGP MESSAGE-----\r\n\r\n")).toBe(true);
    expect(armored).not.toMatch(/Comment:|Version:/);
  });

  it("uses CRLF line endings only, and ends with the END line and CRLF", async () => {
    const armored = armorMessage((await seipdV2Message(500)).binary);
    expect(armored.replace(/\r\n/g, "")).not.toMatch(/[\r\n]/);
    expect(armored.endsWith("-----END PGP MESSAGE-----\r\n")).toBe(true);
  });

  it("filtermail's reading (cut after the last '=', strict base64) gives back the exact bytes, whatever the padding", async () => {
    const lengthsModThree = new Set<number>();
    for (let size = 20; size < 26; size++) {
      const { binary } = await seipdV2Message(size);
      lengthsModThree.add(binary.length % 3);
      expect(Buffer.from(filtermailDearmor(armorMessage(binary))!).equals(Buffer.from(binary))).toBe(true);
      expect(Buffer.from(await dearmorMessage(armorMessage(binary), 1 << 20)).equals(Buffer.from(binary))).toBe(true);
    }
    expect(lengthsModThree).toEqual(new Set([0, 1, 2]));
  });

  it("the trap it avoids: without the CRC line filtermail misreads every block whose base64 ends in padding", async () => {
    for (let size = 20; size < 26; size++) {
      const { binary } = await seipdV2Message(size);
      const withoutCrc = armorMessage(binary).replace(/\r\n=[A-Za-z0-9+/]{4}\r\n/, "\r\n");
      const read = filtermailDearmor(withoutCrc);
      if (binary.length % 3 === 0) expect(Buffer.from(read!).equals(Buffer.from(binary))).toBe(true);
      else expect(read).toBeUndefined();
    }
  });
});
