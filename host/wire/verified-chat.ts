// `Chat-Verified: 1` (core mimefactory.rs): "this chat is protected; every member's key was verified
// by the sender". A 1.x core marks a contact verified only when both sides verified each other; its
// side of that (backward verification, receive_imf.rs) is set by the first message from the
// contact that carries this header and is signed by the key the client verified. A human inviter's
// vc-contact-confirm carries it (it is sent into the freshly protected 1:1 chat); so does every
// later message in that chat. Without it a 1.160 client shows the bot unverified (issue 10).
// 2.x cores read it as "the gossiped keys are verified by the sender" (mark_recipients_as_verified),
// so the bot sends it only where that claim is true: in a 1:1 chat with a peer SecureJoin verified
// (the only gossip there is of the peer's own key, which cores skip). Group mail never carries it:
// a bot cannot vouch for members it did not verify, and on 1.x the header would turn a group a
// person made into a protected one.
export const VERIFIED_CHAT_HEADER: [string, string] = ["Chat-Verified", "1"];
