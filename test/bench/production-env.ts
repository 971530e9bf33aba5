// Imported first by the bench's entry points: vite-node sets NODE_ENV=development, and openpgp.js
// then prints a stack trace for every PKESK the bot's key does not open (real cores hide the
// recipients' key IDs, so each mail has such a PKESK per other recipient) — console I/O that
// `host serve` (NODE_ENV unset, or production in its systemd unit) never pays. openpgp.js reads
// the variable once, when it is first imported, so this module must come before any that loads it.
process.env.NODE_ENV = "production";
