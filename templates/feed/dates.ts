// Feed dates: RFC 822 in RSS 2.0 (`Mon, 06 Jan 2025 09:30:00 GMT`, RFC 2822 §3.3) and RFC 3339 in
// Atom and Dublin Core (`2025-01-06T09:30:00Z`). Parsed by hand because QuickJS's Date.parse only
// promises the ISO form; a date that cannot be read is undefined, never an exception.

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

/** Offsets of the obsolete zone names RFC 2822 §4.3 still lets RSS use, in minutes. */
const ZONES: Readonly<Record<string, number>> = {
  gmt: 0,
  ut: 0,
  utc: 0,
  z: 0,
  est: -300,
  edt: -240,
  cst: -360,
  cdt: -300,
  mst: -420,
  mdt: -360,
  pst: -480,
  pdt: -420,
};

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?)?\s*([Zz]|[+-]\d{2}(?::?\d{2})?)?$/;
const RFC822 = /^(?:[A-Za-z]{2,9},?\s*)?(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{2,4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*([+-]\d{4}|[A-Za-z]{1,5})?/;

/** Minutes east of UTC for "+0100", "-05:30", "Z", "EST"; 0 when missing or unknown. */
function zoneMinutes(zone: string | undefined): number {
  if (zone === undefined) return 0;
  const numeric = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (numeric) return (numeric[1] === "-" ? -1 : 1) * (Number(numeric[2]) * 60 + Number(numeric[3] ?? "0"));
  return ZONES[zone.toLowerCase()] ?? 0;
}

function utc(year: number, month: number, day: number, hour: number, minute: number, second: number, zone: number): number | undefined {
  if (month < 0 || month > 11 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60) return undefined;
  const ms = Date.UTC(year, month, day, hour, minute, second) - zone * 60_000;
  return Number.isFinite(ms) ? ms : undefined;
}

/** Milliseconds since the epoch of an RFC 822 or RFC 3339 date, or undefined. */
export function parseFeedDate(text: string): number | undefined {
  const value = text.trim();
  if (value === "" || value.length > 80) return undefined;
  const iso = ISO.exec(value);
  if (iso) {
    return utc(Number(iso[1]), Number(iso[2]) - 1, Number(iso[3]), Number(iso[4] ?? "0"), Number(iso[5] ?? "0"), Number(iso[6] ?? "0"), zoneMinutes(iso[7]));
  }
  const rfc = RFC822.exec(value);
  if (rfc) {
    const month = MONTHS.indexOf((rfc[2] ?? "").toLowerCase());
    let year = Number(rfc[3]);
    if ((rfc[3] ?? "").length === 2) year += year < 50 ? 2000 : 1900; // RFC 2822 §4.3
    return utc(year, month, Number(rfc[1]), Number(rfc[4] ?? "0"), Number(rfc[5] ?? "0"), Number(rfc[6] ?? "0"), zoneMinutes(rfc[7]));
  }
  return undefined;
}
