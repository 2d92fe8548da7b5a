#!/usr/bin/env bash
# The layers of vmm, read from #include lines (docs/layers.md says why):
# a file may include headers of its own layer group, or of a lower layer.
#   ci/check-layers.sh [ROOT]   prints each wrong-way include; exit 1 if any
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}

# The one place the directions are written: group, then its layer.  Groups
# on the same layer (kvm, sim) may not include each other.
declare -A layer=(
	[core]=1        # interfaces, the machine description, host plumbing
	[devices]=2     # device models: know only core
	[machine]=3     # a description turned into devices on buses
	[kvm]=4         # the two ways to run a machine
	[sim]=4
	[programs]=5    # vmm, vmm-replay: arguments and the choice of backend
)

# devices/virtio/queue.h -> devices; tests, fuzz and benches sit above all.
group_of() {
	local top=${1%%/*}
	[ -n "${layer[$top]+x}" ] && echo "$top"
}

bad=0
cd "$root" || exit 2
while IFS= read -r f; do
	from=$(group_of "$f") || continue
	while IFS= read -r inc; do
		case $inc in
		*../*) echo "layers: $f includes \"$inc\": name headers from the root, not with .."
		       bad=1; continue ;;
		esac
		to=$(group_of "$inc") || continue
		[ "$to" = "$from" ] && continue
		if [ "${layer[$to]}" -ge "${layer[$from]}" ]; then
			echo "layers: $f includes \"$inc\": $from (layer ${layer[$from]}) may not use $to (layer ${layer[$to]})"
			bad=1
		fi
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done < <(find core devices machine kvm sim programs -name '*.[ch]' 2>/dev/null | sort)
exit $bad
