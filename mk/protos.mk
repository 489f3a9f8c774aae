# Contracts: protos/ -> libs/proto/src/ (grpcio-tools) and the buf CLI (npm @bufbuild/buf).
# Included from the top-level Makefile.
PY ?= .venv/bin/python
BUF := node_modules/.bin/buf

.PHONY: protos protos-check protos-lint node

protos:
	$(PY) tools/protogen.py

protos-check: $(BUF)
	$(PY) tools/protogen.py --check
	$(BUF) lint

protos-lint: $(BUF)
	$(BUF) lint

node: $(BUF)

# npm ci installs exactly what package-lock.json pins; npm install only to create a missing lock.
$(BUF): package.json $(wildcard package-lock.json)
	if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
	touch $@
