# Thin wrappers: the logic lives in scripts/ (see scripts/*.sh headers).
# Extra arguments: make test ARGS="-E 'test(outbox)'"   make bench ARGS="--help"
ARGS ?=

.PHONY: run test bench fuzz fmt lint down clean-dev

run: ## whole system locally (dev Postgres + LocalStack, data kept), Ctrl-C to stop
	scripts/run.sh

test: ## fmt + clippy checks + all tests against throwaway Postgres + LocalStack
	scripts/test.sh $(ARGS)

bench: ## repstream-bench (release) against durable throwaway Postgres + LocalStack
	scripts/bench.sh $(ARGS)

fuzz: ## schemathesis against a throwaway stack: no 5xx besides 503 view_not_caught_up (ARGS=seconds)
	scripts/fuzz.sh $(ARGS)

fmt:
	cargo fmt --all

lint:
	cargo clippy --workspace --all-targets -- -D warnings

down: ## stop leftover dev infra (keeps data)
	scripts/aws-down.sh dev
	scripts/pg-down.sh dev

clean-dev: ## stop dev infra and wipe its data
	scripts/aws-down.sh dev --wipe
	scripts/pg-down.sh dev --wipe
