// The poll's webxdc app: app.html with the poll baked in, manifest.toml and an icon, in a stored zip.
// The poll is in the file rather than in a first status update because Delta Chat core drops an
// update that arrives before its app (receive_imf: "cannot assign it to message"), and the relay
// may deliver one event's two mails in either order; baked in, the app shows the poll at once,
// even offline.
import appHtml from "./app.html";
import { ICON_PNG } from "./icon.js";
import { storedZip, utf8 } from "./zip.js";

/** What the app needs to know about its poll. */
export interface AppPoll {
  question: string;
  options: string[];
}

/** Where app.html expects the poll's JSON. */
const MARKER = "POLL_DATA";

/**
 * JSON that is safe inside <script type="application/json">: "<" escaped, so a question like
 * "</script><script>…" stays text (HTML §4.12.1.3 ends the element at "</script").
 */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/** index.html of the app for `poll`. */
export function appIndexHtml(poll: AppPoll): string {
  // A function as the replacement: a "$&" in a question must not be read as a pattern.
  return appHtml.replace(MARKER, () => scriptJson({ question: poll.question, options: poll.options }));
}

/** The .xdc file (a zip with index.html, manifest.toml and icon.png) for `poll`; `created` dates its files. */
export function pollXdc(poll: AppPoll, created: number): Uint8Array {
  return storedZip(
    [
      { name: "index.html", data: utf8(appIndexHtml(poll)) },
      // https://webxdc.org/docs/spec/format.html: name is shown with the app's icon.
      { name: "manifest.toml", data: utf8('name = "Poll"\n') },
      { name: "icon.png", data: ICON_PNG },
    ],
    created,
  );
}
