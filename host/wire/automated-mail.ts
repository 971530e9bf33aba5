// Mail written by programs (issue 9, defect 7: mail loops). Two kinds, as Delta Chat core sees them
// (chatmail/core src/mimeparser.rs, receive_imf.rs, mimefactory.rs):
// - Mail no bot may answer: an automatic response (RFC 3834 §5 `Auto-Submitted` with any value
//   but "no" or "auto-generated": core marks its read receipts `auto-replied`, Postfix its bounces),
//   a delivery status notification (`multipart/report; report-type=delivery-status`, RFC 3464 —
//   core also takes a missing report-type as one) or a read receipt (MDN, `report-type=
//   disposition-notification`, RFC 8098), which core moves to the trash, mail from
//   MAILER-DAEMON (core's heuristic for bounces without a report), and mail with a null reverse path
//   (`Return-Path: <>`, RFC 5321 §4.5.5: notifications are sent that way). RFC 3834 §2: a
//   responder must not answer them. Dropped wherever the marker is, outer or protected inner
//   headers: a marker added in transit can only stop a reply, never cause one.
// - Mail from an automated sender: `Auto-Submitted: auto-generated` in the protected headers —
//   core puts it on every message of a bot account (and reads it as "the sender is a bot") — which
//   a bot may answer, but only so often (policy/loop-guard.ts). Core also puts it on webxdc status
//   updates, location-only and sync messages of every client, people included, and decides "bot"
//   only on other messages: so does this module for status updates. The outer copy of the header
//   is ignored, like core does for signed mail (mimeparser.rs is_protected).
// - Secure-Join handshake steps are protocol, not answers to a person: core up to 2.33 (and 1.x)
//   marks every step after the first `Auto-Submitted: auto-replied` (mimefactory.rs), so on a
//   handshake step that marker does not stop the host's protocol answer (inbound.ts). The bot's code
//   never runs on a handshake, and each answer needs a valid invite token, so no loop can form.
// Pure: headers in, a verdict out.
import { localPartOf } from "../../core/address.js";
import { bareAddress, parseParameterized } from "./mime/mime-entity.js";

/** The keyword of an `Auto-Submitted` value: comments and parameters removed, lowercased (RFC 3834 §5). */
export function autoSubmittedKeyword(value: string): string {
  return value
    .replace(/\([^)]*\)/g, "")
    .split(";")[0]!
    .trim()
    .toLowerCase();
}

/** Report types a bot may still run on: webxdc status updates (PROTOCOL §5) are multipart/report too. */
const RUNNABLE_REPORTS = new Set(["status-update"]);

/** Why the `Auto-Submitted` headers (lowercased name → values) mark an automatic response, or undefined. */
export function autoResponseReason(headers: ReadonlyMap<string, readonly string[]>): string | undefined {
  for (const value of headers.get("auto-submitted") ?? []) {
    const keyword = autoSubmittedKeyword(value);
    if (keyword !== "no" && keyword !== "auto-generated") return `automatic response (Auto-Submitted: ${keyword || "(empty)"}): RFC 3834 forbids answering it`;
  }
  return undefined;
}

/**
 * Why no bot may answer a mail with these headers (lowercased name → values, outer or inner), or
 * undefined when nothing marks it as an automatic response, a bounce or a receipt.
 * `ignoreAutoSubmitted` leaves the `Auto-Submitted` check to the caller (a Secure-Join step may
 * carry `auto-replied`; see the head of this file); bounce and receipt markers still count.
 */
export function neverAnswerReason(headers: ReadonlyMap<string, readonly string[]>, options: { ignoreAutoSubmitted?: boolean } = {}): string | undefined {
  const autoResponse = options.ignoreAutoSubmitted ? undefined : autoResponseReason(headers);
  if (autoResponse) return autoResponse;
  for (const value of headers.get("content-type") ?? []) {
    const type = parseParameterized(value);
    if (type.value !== "multipart/report") continue;
    const report = type.params.get("report-type")?.toLowerCase();
    if (report !== undefined && RUNNABLE_REPORTS.has(report)) continue;
    if (report === "disposition-notification") return "read receipt (multipart/report; report-type=disposition-notification)";
    if (report === undefined || report === "delivery-status" || report === "global-delivery-status")
      return `delivery status notification, a bounce (multipart/report; report-type=${report ?? "missing"})`;
    return `machine-generated report (multipart/report; report-type=${report})`;
  }
  for (const value of headers.get("from") ?? []) {
    // Postfix writes `MAILER-DAEMON@host (Mail Delivery System)`: drop the comment first.
    const local = localPartOf(bareAddress(value.replace(/\([^)]*\)/g, "")) ?? "");
    if (local === "mailer-daemon" || local === "mail-daemon") return `bounce from ${local}`;
  }
  for (const value of headers.get("return-path") ?? []) {
    if (/^<\s*>$/.test(value.trim())) return "null reverse path (Return-Path: <>): a delivery notification";
  }
  return undefined;
}

/**
 * Why no bot may answer this decrypted message, from its protected headers and the outer
 * `Auto-Submitted` verdict (`outerAutoResponse`), or undefined. A Secure-Join step is exempt from
 * `Auto-Submitted: auto-replied`, outer or inner: older cores mark their handshake steps so (see
 * the head of this file); bounce and receipt markers still drop it.
 */
export function innerAutomationRefusal(
  inner: { secureJoin?: { step: string } | undefined; headers: ReadonlyMap<string, readonly string[]> },
  outerAutoResponse: string | undefined,
): string | undefined {
  const handshake = inner.secureJoin?.step !== undefined;
  return neverAnswerReason(inner.headers, { ignoreAutoSubmitted: handshake }) ?? (handshake ? undefined : outerAutoResponse);
}

/** The protected headers of a verified message, as far as automation goes. */
export interface AutomationHeaders {
  /** The inner `Auto-Submitted` value, if any. */
  autoSubmitted: string | undefined;
  /** Whether the message is a webxdc status update. */
  webxdcStatus: unknown;
}

/**
 * True when a verified message's protected headers say a program sent it (`Auto-Submitted:
 * auto-generated`), except on a webxdc status update, which every client marks so.
 */
export function markedAutoGenerated(inner: AutomationHeaders): boolean {
  return inner.webxdcStatus === undefined && inner.autoSubmitted !== undefined && autoSubmittedKeyword(inner.autoSubmitted) === "auto-generated";
}
