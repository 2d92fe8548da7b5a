# Sourced by the KVM snapshot tests (test_kvm_snapshot*.sh) after
# kvm_common.sh: restoring a saved test guest.  They set BASE (the vmm
# arguments both sides share) and QMPPY (snap_qmp.py).

# restore NAME VMM-ARGS...: a new vmm from the stream.  Once it says the
# state is loaded (a byte sent earlier would be lost: the 16550's restored
# state replaces what its FIFO held), its stdin sends the byte the guest
# waits for.  With CONT=1 it has a QMP socket, and a stream saved from a
# stopped VM (which restores stopped, as QEMU's) is started with cont;
# query-status is recorded in $TMP/NAME.qmp first.  Sets out and rc.
restore() {
	local name=$1
	shift
	out=$TMP/$name.out
	rm -f "$TMP/$name.in" "$TMP/$name.sock"
	mkfifo "$TMP/$name.in"
	local q=()
	[ "${CONT:-0}" = 1 ] && q=(-qmp unix:"$TMP/$name.sock",server,nowait)
	VMM_LOG_LEVEL=2 timeout -k 5 60 "$VMM" "${BASE[@]}" "$@" "${q[@]}" -serial stdio \
		<"$TMP/$name.in" >"$out" 2>"$TMP/$name.err" &
	local pid=$!
	exec 7>"$TMP/$name.in"
	local i
	for i in $(seq 600); do
		grep -q 'restored' "$TMP/$name.err" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	if [ "${CONT:-0}" = 1 ]; then
		timeout 30 python3 "$QMPPY" "$TMP/$name.sock" "$out" "cmd query-status" "cmd cont" \
			>"$TMP/$name.qmp" 2>&1
	fi
	# A vmm that refused its stream is gone: no reader, no SIGPIPE here.
	(printf 'g' >&7) 2>/dev/null
	exec 7>&-
	wait $pid
	rc=$?
}
