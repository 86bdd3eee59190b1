# The rehearsal lab (lab/labenv, lab/cmd/kongctl-lab, lab/provision).
#
#   make lab-up [NODES=3] [FROM=2.8.4] [TO=3.4.2] [EDITION=oss|enterprise]
#               [BASTION=1] [USER=kongops] [HYBRID=1 DPS=N] [SPARE=N] [DISK_MB=512]
#               [PKG_FORMAT=rpm|dnf] [REPO=1] [RBAC=1 (with EDITION=enterprise)]
#               [ENVCONF=1 (database settings only in the service's environment)] [KEYRING=1 (with EDITION=enterprise)]
#               [LB=1 (HAProxy on host lb in front of the proxies)] [DB2=1 (a second PostgreSQL server, port 5433)]
#               [NO_SEED=1] [ROWS=N] [PACKAGES_DIR=build/packages] [LAB_ID=0] [LAB_DIR=build/lab]
#   make lab-down                      # every trace, also after a crash
#   make lab-fault FAULT=cut NODE=kong-2 [FAULT_PATH=/usr/local]
#       FAULT: kill-sshd start-sshd kill-kong start-kong cut restore
#              fill-disk free-disk heal stop-db start-db
#   make lab-status
#   make rehearsal                     # lab-up (2.8.4) unless one is up, then kongctl upgrade
#
# ROWS=N makes the database production-sized: after the seed, N consumers,
# one key-auth credential and one plugin row per consumer (rate-limiting,
# scoped to it, with the redis_* fields 3.6 migrates) are written
# in the database in one transaction (INSERT ... SELECT generate_series,
# then ANALYZE; about a minute for 200000), in the simulator's own schema, so
# Kong X serves them and `kong migrations up/finish` to Y runs over them.
# `make lab-up ROWS=200000` is the bench's "3-rows" lab.
#
# USER is taken only from the make command line (the environment's $USER is
# the login name, not a lab option).
#
# LAB_ID=K (0..7, default $KONGCTL_LAB_ID, else 0) picks one of several labs
# that run side by side: names kl<K>-*, bridge klb<K>o, 198.18.(32K).0/19, dir
# build/lab<K> (lab 0 keeps kl-*, klbr0 and build/lab). Every target acts on
# that lab only, e.g. `make lab-up LAB_ID=2 NODES=1`, `make lab-down LAB_ID=2`.

LAB_ID ?= $(if $(KONGCTL_LAB_ID),$(KONGCTL_LAB_ID),0)
# Labs live in build/ unless this checkout sits where the lab's hosts cannot
# see it (they overlay or replace /tmp, /home, /root, /var, ...): then in
# /kongctl-lab/<hash of the checkout path>, as labenv.BuildBase computes.
LAB_BASE := $(shell sh scripts/lab-base.sh "$(CURDIR)")
LAB_DIR ?= $(LAB_BASE)/lab$(filter-out 0,$(LAB_ID))
LAB_BIN := bin/kongctl-lab
LAB_REF = --id $(LAB_ID) --dir $(LAB_DIR)
LAB_USER := $(if $(filter command line,$(origin USER)),$(USER),)
LAB_FLAGS = $(LAB_REF) \
	$(if $(NODES),--nodes $(NODES)) $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO)) \
	$(if $(EDITION),--edition $(EDITION)) $(if $(BASTION),--bastion $(BASTION)) \
	$(if $(PKG_FORMAT),--package-format $(PKG_FORMAT)) $(if $(filter 1,$(REPO)),--repository) \
	$(if $(LAB_USER),--user $(LAB_USER)) $(if $(HYBRID),--hybrid $(HYBRID)) $(if $(RBAC),--rbac $(RBAC)) \
	$(if $(ENVCONF),--envconf $(ENVCONF)) $(if $(KEYRING),--keyring $(KEYRING)) $(if $(LB),--lb $(LB)) $(if $(DB2),--db2 $(DB2)) \
	$(if $(DPS),--dps $(DPS)) $(if $(SPARE),--spares $(SPARE)) \
	$(if $(DISK_MB),--disk-mb $(DISK_MB)) $(if $(PACKAGES_DIR),--packages $(PACKAGES_DIR)) \
	$(if $(filter 1,$(NO_SEED)),--no-seed) $(if $(ROWS),--rows $(ROWS))

.PHONY: lab-tool lab-packages lab-up lab-down lab-fault lab-status rehearsal

lab-tool:
	@mkdir -p bin
	$(GO) build -o $(LAB_BIN) ./lab/cmd/kongctl-lab

# The simulator packages, from the packages target when it is defined.
lab-packages:
	@rc=0; $(MAKE) -q packages >/dev/null 2>&1 || rc=$$?; \
	if [ $$rc -ne 2 ]; then $(MAKE) --no-print-directory packages; \
	else echo "lab: no 'packages' target; using build/packages as it is" >&2; fi

# deps (scripts/install-deps.sh) first: on a fresh Debian machine it installs
# what the lab needs (openssh-server, PostgreSQL, ...) as root, and stops at
# once otherwise, naming the missing packages and the command that installs
# them.
lab-up: deps lab-tool lab-packages
	$(LAB_BIN) up $(LAB_FLAGS)

lab-down: lab-tool
	$(LAB_BIN) down $(LAB_REF)

lab-status: lab-tool
	@$(LAB_BIN) status $(LAB_REF)

lab-fault: lab-tool
	@test -n "$(FAULT)" || { echo "usage: make lab-fault FAULT=cut NODE=kong-2" >&2; exit 2; }
	$(LAB_BIN) fault $(LAB_REF) $(FAULT) $(NODE) $(FAULT_PATH)

# The main job: the lab on the old version (an existing lab is used as it is),
# then the upgrade with the real controller. It fails when the upgrade fails.
# deps first, as for lab-up.
REHEARSAL_LOG ?= build/rehearsal/upgrade$(filter-out 0,$(LAB_ID)).log
rehearsal: deps all lab-tool lab-packages
	@if $(LAB_BIN) status $(LAB_REF) >/dev/null 2>&1; then \
		echo "rehearsal: using the lab that is up in $(LAB_DIR)" >&2; \
	else \
		$(LAB_BIN) up $(LAB_FLAGS) >/dev/null || exit 1; \
	fi
	@$(LAB_BIN) status $(LAB_REF)
	@mkdir -p $(dir $(REHEARSAL_LOG))
	@echo "rehearsal: bin/kongctl upgrade -i $(LAB_DIR)/hosts.hcl --yes" >&2
	@set -o pipefail; bin/kongctl upgrade -i $(LAB_DIR)/hosts.hcl --yes 2>&1 | tee $(REHEARSAL_LOG); rc=$$?; \
	echo; echo "==== rehearsal report ===="; \
	echo "inventory: $(LAB_DIR)/hosts.hcl"; echo "log:       $(REHEARSAL_LOG)"; \
	if [ $$rc -eq 0 ]; then echo "result:    upgrade succeeded"; \
	else echo "result:    upgrade FAILED (kongctl exit code $$rc)"; fi; \
	exit $$rc
