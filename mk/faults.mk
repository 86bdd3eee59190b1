# The fault matrix (lab/faults, lab/cmd/kongctl-faults): every phase x fault
# on lab ID 3 (build/lab3), driving the real bin/kongctl; it builds the
# simulator packages and installs what the lab needs first, as lab-up does.
#
#   make faults                         # the whole matrix; build/faults/matrix.json
#   make faults CELLS=quick             # the cells `make test` runs
#   make faults CELLS=stop/network-cut,install/*
#   make faults CELLS=verify/* FAULTS_FLAGS=-merge   # re-run cells, keep the rest of matrix.json
#   make faults FAULTS_FLAGS='-lab-id 6'            # beside another matrix on lab 3
.PHONY: faults

CELLS ?= all
FAULTS_DIR ?= build/faults
FAULTS_FLAGS ?=

faults: deps all lab-packages
	@mkdir -p bin $(FAULTS_DIR)
	$(GO) build -o bin/kongctl-faults ./lab/cmd/kongctl-faults
	bin/kongctl-faults -cells '$(CELLS)' -out $(FAULTS_DIR) -kongctl bin/kongctl $(FAULTS_FLAGS)
