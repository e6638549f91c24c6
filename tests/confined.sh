# SPDX-License-Identifier: MIT
# Sourced by the tests of the benchmarks that confine processes to memory
# cgroups (bench e2e, bench budget).  Their exit statuses 3 to 6 say that
# this machine cannot run them: a skip (77) that says why.
skip_unless_confinable() {
	case $1 in
	3) echo "SKIP: needs root"; exit 77 ;;
	4) echo "SKIP: no memory cgroup can be created here"; exit 77 ;;
	5) echo "SKIP: no swap file can be enabled here"; exit 77 ;;
	6) echo "SKIP: a sanitizer's own memory is no budget's"; exit 77 ;;
	esac
}
