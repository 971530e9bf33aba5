# chatbot — the two commands at the top of the README are `make demo` and `make test`.
SHELL := /bin/bash
NPM_STAMP := node_modules/.package-lock.json

.PHONY: registry all deps build typecheck lint format test demo demo-sandbox bench clean relay-deps docs

all: build

# npm ci only when the lock file changed since the last install.
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund

deps: $(NPM_STAMP)

# lib/deliver.cjs: `host deliver` bundled into one CommonJS file (the Postfix pipe command runs it
# once per mail; one file loads in a fraction of the ES module graph's time — README, host deliver).
DELIVER_BUNDLE := node_modules/.bin/esbuild host/cli/deliver-entry.ts --bundle --platform=node --format=cjs --target=node20 --log-level=warning --outfile=lib/deliver.cjs
# lib/host/pipeline.mjs: `host serve`'s pipeline process bundled into one ES module (the door starts
# it at every wake after a rest; host/cli/pipeline-entry.ts says why and what stays outside). The
# CommonJS packages inside call require(): the banner gives the module one.
PIPELINE_BUNDLE := node_modules/.bin/esbuild host/cli/pipeline-entry.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
	--external:esbuild --external:imapflow --outfile=lib/host/pipeline.mjs \
	--banner:js="import { createRequire as chatbotCreateRequire } from 'node:module'; const require = chatbotCreateRequire(import.meta.url);"

# Two lines of work side by side on 2 cores; any one failing fails the build. The type checks of
# std/ and of the tests need nothing built; lib/ comes first for the templates (they read
# lib/host/testing's declarations). tsc is called directly, not through npx (~0.5 s each).
TSC := node_modules/.bin/tsc

build: deps
	@echo "build: tsc (host, bundler → lib/), the deliver and pipeline bundles, chatbot/testing's declarations, then every template (two at a time); beside them the type checks of std/, the tests and the relay bot host"
	@fail=0; \
	$(TSC) -p std/tsconfig.json & std=$$!; \
	$(TSC) -p tsconfig.test.json & tests=$$!; \
	( $(TSC) -p tsconfig.json || { echo "build: tsc -p tsconfig.json failed" >&2; exit 1; }; \
	  $(DELIVER_BUNDLE) || exit 1; \
	  $(PIPELINE_BUNDLE) || exit 1; \
	  $(TSC) -p host/testing/tsconfig.json || { echo "build: chatbot/testing's declarations failed" >&2; exit 1; }; \
	  ls -d templates/*/ | xargs -P 2 -I '{}' sh -c '$(TSC) -p {}tsconfig.json && $(TSC) -p {}tsconfig.test.json || { echo "template {} does not type-check" >&2; exit 1; }' ) & lib=$$!; \
	$(TSC) -p host/host-bot/tsconfig.json || { echo "host/host-bot does not type-check" >&2; fail=1; }; \
	wait $$std || fail=1; wait $$tests || fail=1; wait $$lib || fail=1; exit $$fail

typecheck: build

# Biome (biome.json): the formatter's check and the linter over every .ts/.mjs/.cjs/.js, ~1 s,
# no TypeScript compiler API. `make format` rewrites what the check would refuse.
lint: deps
	node_modules/.bin/biome ci --colors=off .

format: deps
	node_modules/.bin/biome check --write .

# docs/API.md from the types of std/ and the test kit (a unit test fails when it is stale).
docs: build
	node lib/bundler/write-api-docs.js

# Postfix + Dovecot for the end-to-end tests' relay (apt, ~26 s on a fresh machine; instant when installed).
relay-deps:
	bash test/relay/install.sh

# Two runs side by side, each with its own workers: the unit and sandbox tests, and the end-to-end
# tests (real Postfix, Dovecot and Delta Chat cores). Most of an e2e file is waiting for mail
# (Dovecot tells an idling client of new mail 500 ms after it arrived, a constant compiled into it),
# so alone the e2e run left the cores 15-50 % idle over its second half; one after the other the
# two took ~310 s, side by side ~260 s (both CPU-bound then; no test asserts a duration).
# Each run's lines are prefixed ([unit], [e2e]) as they come; vitest's summary is not a line every
# CI reader knows: the last line is "tests: N passed, N failed, N skipped" over both runs.
# Both runs' output is also kept in .vitest-*.log: a line a broken sandbox prints (QuickJS's
# "Aborted(" from a runtime freed with live objects) fails the run even when every test passed.
# The unit run reuses its two worker processes across files (--no-isolate: no test mocks modules
# or changes process-wide state; a fresh process per file cost ~1 s of CPU each: test/host/wire,
# policy, storage and fetch took 78 CPU-seconds isolated, 30 without).
# The e2e run takes three files at once, each in a fresh process (its files start daemons and
# servers of their own).
# templates/*/*.test.ts are left to the e2e run, where registry.test.ts runs every one of them as a
# new user's `npm test` (running them here too ran each assertion twice).
UNIT_RUN := npx vitest run --exclude 'test/e2e/**' --exclude 'templates/**' --no-isolate --reporter=default --reporter=json --outputFile.json=.vitest-unit.json
E2E_RUN := npx vitest run test/e2e --maxWorkers=3 --reporter=default --reporter=json --outputFile.json=.vitest-e2e.json
# relay-deps (on a fresh machine apt takes ~26 s, most of it waiting for the mirror and dpkg) runs
# beside npm ci, lint and build instead of after them; its lines come prefixed [relay-deps].
test:
	@( set -o pipefail; bash test/relay/install.sh 2>&1 | sed -u 's/^/[relay-deps] /' ) & relay=$$!; \
	$(MAKE) --no-print-directory lint build; built=$$?; \
	wait $$relay; relayed=$$?; \
	if [ $$relayed != 0 ]; then echo "make test: relay-deps failed (the [relay-deps] lines above say why): the end-to-end tests need Postfix and Dovecot" >&2; fi; \
	[ $$built = 0 ] && [ $$relayed = 0 ]
	@rm -f .vitest-unit.json .vitest-e2e.json .vitest-unit.log .vitest-e2e.log
	@echo "tests on node $$(node --version), npm $$(npm --version), $$(uname -sm): unit and e2e runs side by side"
	@( $(UNIT_RUN) 2>&1 | tee .vitest-unit.log | sed -u 's/^/[unit] /' ) & unit=$$!; \
	( $(E2E_RUN) 2>&1 | tee .vitest-e2e.log | sed -u 's/^/[e2e] /' ); \
	wait $$unit; true
	@node test/demo/summarize-results.mjs --forbid 'Aborted(' --log .vitest-unit.log --log .vitest-e2e.log .vitest-unit.json .vitest-e2e.json

bench: build
	npx vite-node test/bench/run.ts

# The whole product on this machine: relay, host service, echo bot, a real Delta Chat client.
demo: build relay-deps
	npx vite-node test/demo/live-demo.ts

# This checkout's packages on a local registry (Verdaccio on 127.0.0.1), for the README's quick start
# before a public release: prints the `export npm_config_registry=…` line; Ctrl-C stops it.
registry: build
	npx vite-node test/demo/local-registry.ts

# Only the sandbox: new → build → run the echo bot, then a hostile bot stopped at its CPU budget.
demo-sandbox: build
	bash test/demo/demo.sh

clean:
	rm -rf lib dist
