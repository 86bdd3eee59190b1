# The upgrade on real Vagrant VMs (vagrant-libvirt, QEMU software emulation):
# shared/docs/vagrant-notes.md; scripts/vagrant/rehearsal.sh says what it does
# step by step. Needs root; installs what it needs.
#
#   make vagrant-rehearsal [FROM=2.8.4] [TO=3.4.2] [VAGRANT_NODES=3] [KEEP=1]
#   make vagrant-box       # build (or reuse) the offline box only
#   make vagrant-setup     # host set-up only
#   make vagrant-clean     # destroy leftovers of an interrupted run, then check
.PHONY: vagrant-rehearsal vagrant-box vagrant-setup vagrant-clean

VAGRANT_NODES ?= 3

vagrant-rehearsal: all packages
	FROM=$(or $(FROM),2.8.4) TO=$(or $(TO),3.4.2) KONGCTL_KONG_NODES=$(VAGRANT_NODES) KEEP=$(KEEP) \
		bash scripts/vagrant/rehearsal.sh

vagrant-setup:
	bash scripts/vagrant/setup-host.sh

vagrant-box: vagrant-setup
	bash scripts/vagrant/build-box.sh

vagrant-clean:
	bash scripts/vagrant/clean.sh
