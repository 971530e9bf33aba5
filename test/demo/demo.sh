#!/bin/bash
# `make demo`: what a new bot author does first — create the echo bot from its template, build
# it, and run it once in the real sandbox on a sample mail — then show the limits holding.
set -euo pipefail
cd "$(dirname "$0")/../.."
CHATBOT="node lib/host/cli/main.js"
DEMO=.demo
rm -rf "$DEMO" && mkdir -p "$DEMO"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "chatbot new $DEMO/echo-bot"
$CHATBOT new "$DEMO/echo-bot" --name echo-bot

step "chatbot build"
$CHATBOT build "$DEMO/echo-bot"

step "chatbot run --mail sample.eml   (the reply and the measured cost)"
$CHATBOT run "$DEMO/echo-bot" --mail "$DEMO/echo-bot/sample.eml"

step "a hostile bot: an infinite loop, stopped at its CPU budget (exit code 2 = limit hit)"
mkdir -p "$DEMO/loop-bot"
cp "$DEMO/echo-bot/chatbot.json" "$DEMO/loop-bot/"
sed -i 's/"name": "echo-bot"/"name": "loop-bot"/' "$DEMO/loop-bot/chatbot.json"
cat > "$DEMO/loop-bot/bot.ts" <<'BOT'
import { defineBot } from "chatbot/std";
export default defineBot({ async message() { for (;;) {} } });
BOT
set +e
$CHATBOT run "$DEMO/loop-bot" --mail "$DEMO/echo-bot/sample.eml" >"$DEMO/loop.json"
code=$?
set -e
node -e 'const r = require("./'"$DEMO"'/loop.json"); console.log(JSON.stringify({ status: r.status, limit: r.limit, cpuMs: r.cpuMs }))'
echo "exit code: $code"

step "next"
echo "chat with the bot in your terminal:   $CHATBOT dev $DEMO/echo-bot"
echo "start your own:                       $CHATBOT new mybot"
