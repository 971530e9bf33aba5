import { describe, expect, it } from "vitest";
import { isEncryptedMessageShape, readPacketFrames } from "../../../../host/wire/pgp/packets.js";

const bytes = (...values: number[]) => new Uint8Array(values);
const filled = (length: number) => new Array<number>(length).fill(0);

describe("readPacketFrames: RFC 9580 §4.2 framing, as filtermail walks it", () => {
  it("reads one-, two- and five-octet lengths", () => {
    const twoOctet = [0xc1, 0xc0, 0x00, ...filled(192)]; // PKESK, 192 bytes
    const fiveOctet = [0xd2, 0xff, 0, 0, 0, 3, 1, 2, 3]; // SEIPD, 3 bytes
    const frames = readPacketFrames(bytes(0xc3, 2, 0, 0, ...twoOctet, ...fiveOctet), { legacyFormat: false })!;
    expect(frames.map((frame) => [frame.tag, frame.end])).toEqual([
      [3, 4],
      [1, 4 + 3 + 192],
      [18, 4 + 3 + 192 + 9],
    ]);
    expect(isEncryptedMessageShape(frames)).toBe(true);
  });

  it("follows partial body lengths (a 2-byte chunk, then a final 1-byte length)", () => {
    const frames = readPacketFrames(bytes(0xd2, 0xe1, 9, 9, 1, 9), { legacyFormat: false })!;
    expect(frames).toEqual([{ tag: 18, start: 0, bodyStart: 2, end: 6, partial: true }]);
  });

  it("legacy-format packets (GnuPG's PKESK 0x84) are read only when allowed", () => {
    const legacy = bytes(0x84, 1, 0, 0xd2, 1, 1);
    expect(readPacketFrames(legacy, { legacyFormat: false })).toBeUndefined();
    expect(readPacketFrames(legacy, { legacyFormat: true })!.map((frame) => frame.tag)).toEqual([1, 18]);
  });

  it("refuses a truncated body, a truncated length and a byte that is no packet header", () => {
    expect(readPacketFrames(bytes(0xd2, 5, 1, 2), { legacyFormat: true })).toBeUndefined();
    expect(readPacketFrames(bytes(0xd2, 0xc5), { legacyFormat: true })).toBeUndefined();
    expect(readPacketFrames(bytes(0x12, 0), { legacyFormat: true })).toBeUndefined();
    expect(readPacketFrames(bytes(0x87, 0), { legacyFormat: true })).toBeUndefined(); // indeterminate length
  });

  it("the encrypted shape is (PKESK|SKESK)* + exactly one SEIPD, nothing else", () => {
    const shape = (...tags: number[]) => isEncryptedMessageShape(tags.map((tag) => ({ tag, start: 0, bodyStart: 0, end: 0, partial: false })));
    expect(shape(18)).toBe(true);
    expect(shape(1, 3, 1, 18)).toBe(true);
    expect(shape()).toBe(false);
    expect(shape(1)).toBe(false);
    expect(shape(18, 18)).toBe(false);
    expect(shape(1, 11)).toBe(false);
    expect(shape(11, 18)).toBe(false);
  });
});
