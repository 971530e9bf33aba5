# chatbot — the two commands at the top of the README are `make demo` and `make test`.
SHELL := /bin/bash
NPM_STAMP := node_modules/.package-lock.json

.PHONY: all deps build typecheck test demo bench clean

all: build

# npm ci only when the lock file changed since the last install.
$(NPM_STAMP): package-lock.json
	npm ci --no-audit --no-fund

deps: $(NPM_STAMP)

build: deps
	npx tsc -p tsconfig.json
	npx tsc -p std/tsconfig.json

typecheck: build

test: build
	npx vitest run

bench: build
	node lib/test/bench/run.js

demo: build
	bash test/demo/demo.sh

clean:
	rm -rf lib dist
